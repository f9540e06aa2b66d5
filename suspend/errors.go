package suspend

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDetached is wrapped by the errors of operations on a thread that has
// detached, or that the world removed because its goroutine ended without
// Detach (SuspendThread, ResumeThread, Interrupt, a second Detach, By), so
// that callers can tell a finished thread from a real failure with
// errors.Is.
var ErrDetached = errors.New("the thread is detached")

// ErrWaitsForItself is wrapped by the error of a call that would wait for
// its own caller: a Stop, SuspendThread, Attach or Detach on the goroutine
// that holds a stop it has not restarted, or a SuspendThread of the
// calling goroutine's own thread. The call fails at once instead of
// hanging.
var ErrWaitsForItself = errors.New("the call would wait for its own caller")

// StopTimeoutError reports a stop (or a single-thread suspend) that did
// not complete before its context was done or the world's stop timeout
// passed. Every request it made has been rolled back; the world is usable.
type StopTimeoutError struct {
	// Waiting names the threads that had not reached a safepoint; empty
	// when the call gave up waiting for another initiator.
	Waiting []string
	// Abandoned names the waiting threads whose goroutine has certainly
	// ended without Detach: the goroutine that attached it is gone, or
	// (hybrid and preemptive) its OS thread has exited. They were
	// removed from the world, so the next stop does not wait for them.
	Abandoned []string
	// Dump is the world's dump when the stop gave up.
	Dump string
	// Err is the context's cause: context.DeadlineExceeded, the stop
	// timeout, or a cancellation.
	Err error
}

func (e *StopTimeoutError) Error() string {
	var b strings.Builder
	if len(e.Waiting) == 0 {
		fmt.Fprintf(&b, "coopsuspend: %v", e.Err)
	} else {
		fmt.Fprintf(&b, "coopsuspend: stop gave up waiting for %d thread(s) [%s] to reach a safepoint: %v",
			len(e.Waiting), strings.Join(e.Waiting, ", "), e.Err)
	}
	if len(e.Abandoned) > 0 {
		fmt.Fprintf(&b, "; abandoned (their goroutine ended without Detach; removed): [%s]",
			strings.Join(e.Abandoned, ", "))
	}
	b.WriteString("\n")
	b.WriteString(e.Dump)
	return b.String()
}

// Unwrap returns the context's cause, so errors.Is(err,
// context.DeadlineExceeded) works.
func (e *StopTimeoutError) Unwrap() error { return e.Err }

// StopError reports a stop (or a single-thread suspend) that failed for a
// reason other than time: an asynchronous suspend whose signal could not
// be sent, or whose handler did not answer (see arch.ErrNoAnswer). Every
// request it made has been rolled back; the world is usable.
type StopError struct {
	// Waiting names the threads that had not reached a safepoint.
	Waiting []string
	// Dump is the world's dump when the stop failed.
	Dump string
	// Err is the failure.
	Err error
}

func (e *StopError) Error() string {
	return fmt.Sprintf("coopsuspend: stop failed: %v\n%s", e.Err, e.Dump)
}

// Unwrap returns the failure.
func (e *StopError) Unwrap() error { return e.Err }

// ErrSuspendLimit is wrapped by the error of a SuspendThread or Stop that
// would take a thread's suspend count past threadstate.MaxCount (255
// outstanding suspends: SuspendThread calls not yet resumed, plus the stop
// of the world in progress). Nothing is changed.
var ErrSuspendLimit = errors.New("the thread's suspend count is at its limit")

// ErrAttached is wrapped by the error of an Attach from a goroutine that
// is attached already, to this world or another: a goroutine is one
// thread. Every policy detects it, in every build.
var ErrAttached = errors.New("the goroutine is attached already")

// ErrClosed is wrapped by the error of every method of a World after
// Close.
var ErrClosed = errors.New("the world is closed")

// ErrInUse is wrapped by the error of a Close that found threads attached
// or the world held by another call; the world stays open.
var ErrInUse = errors.New("the world is in use")

// errZeroWorld is returned by every method of a World that NewWorld did
// not make.
var errZeroWorld = errors.New("coopsuspend: the World was not made by NewWorld (its zero value is not usable)")
