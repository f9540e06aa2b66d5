package suspend

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDetached is wrapped by the errors of operations on a thread that has
// detached (SuspendThread, a second Detach, By), so that callers can tell
// a finished thread from a real failure with errors.Is.
var ErrDetached = errors.New("the thread is detached")

// StopTimeoutError reports a stop (or a single-thread suspend) that did
// not complete before its context was done or the world's stop timeout
// passed. Every request it made has been rolled back; the world is usable.
type StopTimeoutError struct {
	// Waiting names the threads that had not reached a safepoint.
	Waiting []string
	// Dump is the world's dump when the stop gave up.
	Dump string
	// Err is the context's cause: context.DeadlineExceeded, the stop
	// timeout, or a cancellation.
	Err error
}

func (e *StopTimeoutError) Error() string {
	return fmt.Sprintf("coopsuspend: stop gave up waiting for %d thread(s) [%s] to reach a safepoint: %v\n%s",
		len(e.Waiting), strings.Join(e.Waiting, ", "), e.Err, e.Dump)
}

// Unwrap returns the context's cause, so errors.Is(err,
// context.DeadlineExceeded) works.
func (e *StopTimeoutError) Unwrap() error { return e.Err }
