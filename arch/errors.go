package arch

import (
	"errors"
	"fmt"
	"syscall"
)

// DefaultSignal is the signal the handler is installed on unless the
// caller picks another: SIGURG, shared with Go's preemption (the handler
// chains every delivery to Go's).
const DefaultSignal = syscall.SIGURG

// ErrHandlerReplaced reports that the handler is no longer the one the
// kernel runs for the signal: signal.Ignore, signal.Notify's reset or
// another library replaced it.
var ErrHandlerReplaced = errors.New("coopsuspend/arch: the signal handler was replaced")

// ErrUnsupported reports a platform without the signal machinery: the
// cooperative path works everywhere, asynchronous suspension only where
// this package has its assembly.
var ErrUnsupported = errors.New("coopsuspend/arch: asynchronous suspension is not supported on this platform")

// ErrBusy reports a sample asked while another request (a stop's park)
// holds the thread's record.
var ErrBusy = errors.New("coopsuspend/arch: the thread's record is busy with another request")

// ValidSignal checks that sig can carry the handler: SIGURG, or a
// real-time signal from 35 to 62 (32–34 belong to the C library and Go).
func ValidSignal(sig syscall.Signal) error {
	if sig == syscall.SIGURG || (sig >= 35 && sig <= 62) {
		return nil
	}
	return fmt.Errorf("coopsuspend/arch: cannot use signal %d (%v): use SIGURG or a real-time signal from 35 to 62", int(sig), sig)
}
