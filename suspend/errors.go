package suspend

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coopsuspend/coopsuspend/threadstate"
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
//
// Its Error is one line: which threads never reached a safepoint, in
// which state, where their goroutines were, and what usually causes it.
// The world's whole dump is in Dump.
type StopTimeoutError struct {
	// Waiting names the threads that had not reached a safepoint; empty
	// when the call gave up waiting for another initiator.
	Waiting []string
	// Stuck describes the threads of Waiting, in the same order.
	Stuck []StuckThread
	// Abandoned names the waiting threads whose goroutine has certainly
	// ended without Detach: the goroutine that attached it is gone, or
	// (hybrid and preemptive) its OS thread has exited. They were
	// removed from the world, so the next stop does not wait for them.
	Abandoned []string
	// Dump is the world's dump when the stop gave up: the cue card of
	// states, then one line per thread (see World.Dump).
	Dump string
	// Err is the context's cause: context.DeadlineExceeded, the stop
	// timeout, or a cancellation.
	Err error
}

// StuckThread is a thread that a failed stop waited for in vain.
type StuckThread struct {
	Name string
	// Word is the thread's state word when the stop gave up, before the
	// rollback: ASYNC_SUSPEND_REQUESTED for a thread that was running
	// and never polled.
	Word threadstate.Word
	// Stack is the trace of the goroutine that attached the thread, when
	// the stop gave up, as runtime.Stack writes it; "" when that
	// goroutine has ended.
	Stack string
	// At is Stack's innermost call outside Go's runtime and this
	// library, "function (file:line)": most likely the code that keeps
	// the thread from polling. "" when unknown.
	At string
}

func (e *StopTimeoutError) Error() string {
	if len(e.Waiting) == 0 {
		return fmt.Sprintf("suspend: %v", e.Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "suspend: stop gave up (%v): ", e.Err)
	if len(e.Waiting) == 1 {
		b.WriteString("thread ")
	} else {
		fmt.Fprintf(&b, "%d threads never reached a safepoint: ", len(e.Waiting))
	}
	const shown = 3
	for i, name := range e.Waiting {
		if i == shown {
			fmt.Fprintf(&b, ", and %d more (see Dump)", len(e.Waiting)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", name)
		if i < len(e.Stuck) {
			st := e.Stuck[i]
			fmt.Fprintf(&b, " (%v", st.Word.State())
			if st.Word.NoSafepoints() {
				b.WriteString(", in a no-safepoints region")
			}
			if st.At != "" {
				b.WriteString(", at " + st.At)
			}
			b.WriteString(")")
		}
	}
	if len(e.Waiting) == 1 {
		b.WriteString(" never reached a safepoint")
	}
	b.WriteString(": " + e.hint())
	if len(e.Abandoned) > 0 {
		fmt.Fprintf(&b, "; abandoned, their goroutine having ended without Detach (removed from the world): [%s]",
			strings.Join(e.Abandoned, ", "))
	}
	return b.String()
}

// hint says what usually keeps threads in the states of Stuck from
// polling.
func (e *StopTimeoutError) hint() string {
	for _, st := range e.Stuck {
		if st.Word.NoSafepoints() {
			return "a thread in a no-safepoints region cannot stop (is an EndNoSafepoints missing?), " +
				"and a running one stops only at safepoint.Poll: a loop without a Poll, or a blocking call outside safepoint.Blocking, keeps it running"
		}
	}
	return "a running thread stops only at safepoint.Poll: a loop without a Poll, or a blocking call outside safepoint.Blocking, keeps it running"
}

// Unwrap returns the context's cause, so errors.Is(err,
// context.DeadlineExceeded) works.
func (e *StopTimeoutError) Unwrap() error { return e.Err }

// StopError reports a stop (or a single-thread suspend) that failed for a
// reason other than time: an asynchronous suspend whose signal could not
// be sent, or whose handler did not answer (see arch.ErrNoAnswer). Every
// request it made has been rolled back; the world is usable. Its Error is
// one line; the world's dump is in Dump.
type StopError struct {
	// Waiting names the threads that had not reached a safepoint.
	Waiting []string
	// Dump is the world's dump when the stop failed.
	Dump string
	// Err is the failure.
	Err error
}

func (e *StopError) Error() string {
	return fmt.Sprintf("suspend: stop failed: %v", e.Err)
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
var errZeroWorld = errors.New("suspend: the World was not made by NewWorld (its zero value is not usable)")
