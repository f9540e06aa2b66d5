//go:build windows || js

package arch

import (
	"fmt"
	"runtime"
	"syscall"
)

// DefaultSignal is the zero signal: this platform delivers no signals to
// threads (there is no SIGURG to share with Go's preemption), so nothing
// is ever sent on it.
const DefaultSignal = syscall.Signal(0)

// ValidSignal fails with an error wrapping ErrUnsupported: no signal can
// carry a handler on this platform.
func ValidSignal(sig syscall.Signal) error {
	return fmt.Errorf("%w (%s/%s)", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}
