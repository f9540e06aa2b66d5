//go:build !windows && !js

package arch

import (
	"fmt"
	"syscall"
)

// DefaultSignal is the signal the handler is installed on unless the
// caller picks another: SIGURG, shared with Go's preemption (the handler
// chains every delivery to Go's).
const DefaultSignal = syscall.SIGURG

// ValidSignal checks that sig can carry the handler: SIGURG, or a
// real-time signal from 35 to 62 (32–34 belong to the C library and Go).
func ValidSignal(sig syscall.Signal) error {
	if sig == syscall.SIGURG || (sig >= 35 && sig <= 62) {
		return nil
	}
	return fmt.Errorf("coopsuspend/arch: cannot use signal %d (%v): use SIGURG or a real-time signal from 35 to 62", int(sig), sig)
}
