//go:build !windows && !js

package arch

import (
	"fmt"
	"syscall"
)

// The signal numbers are syscall's, not golang.org/x/sys/unix's: arch is
// built for every GOOS, and x/sys/unix does not exist on wasip1 or plan9.
// unix.Signal is an alias of syscall.Signal, so callers may use either.

// DefaultSignal is the signal the handler runs on unless a world or a
// monitor picks another (suspend.WithSignal, monitor.WithSignal): SIGURG,
// shared with Go's preemption (the handler passes every delivery on to
// Go's).
const DefaultSignal = syscall.SIGURG

// ValidSignal checks that sig can carry the handler: SIGURG, or a
// real-time signal from 35 to 62 (32–34 belong to the C library and Go).
func ValidSignal(sig syscall.Signal) error {
	if sig == syscall.SIGURG || (sig >= 35 && sig <= 62) {
		return nil
	}
	return fmt.Errorf("arch: cannot use signal %d (%v): use SIGURG or a real-time signal from 35 to 62", int(sig), sig)
}
