package threadstate

import "strconv"

// Event is one of the fourteen transitions of the state machine, one per
// Mono transition function (mono_threads_transition_*). Each says which
// actor may apply it (invariants I9 and I10).
type Event uint8

const (
	// Attach registers a Starting thread: Starting → Running. Self.
	Attach Event = iota
	// Detach unregisters a Running or Blocking thread with count 0.
	// Refused without change (False) while a request is pending, so the
	// thread must poll or wait and retry. Self.
	Detach
	// RequestSuspension counts one more suspender: starts a suspend of an
	// executing thread, or adds to the count of a stopped one. Initiator.
	RequestSuspension
	// PeekBlockingSuspendRequested is the hybrid mop-up phase's read-only
	// question "is this thread still BlockingSuspendRequested?" (True) of
	// a thread the first phase has already requested. Initiator.
	PeekBlockingSuspendRequested
	// StatePoll is the safepoint: Running stays (SelfSuspendResumed),
	// AsyncSuspendRequested parks (SelfSuspendNotifyAndWait). Self.
	StatePoll
	// RequestResume drops one suspender; the last one resumes the thread
	// in the way the result names. Initiator.
	RequestResume
	// RequestPulse resumes a BlockingAsyncSuspended thread with count 1
	// into BlockingSuspendRequested, so that it runs on but cannot escape
	// into GC-unsafe code (hybrid critical-location retry). Initiator.
	RequestPulse
	// AbortAsyncSuspend rolls back a request that the initiator could not
	// complete (the signal could not be sent, the stop timed out). True:
	// rolled back; False: the thread had already self-suspended. Initiator.
	AbortAsyncSuspend
	// FinishAsyncSuspend completes an asynchronous suspend from the
	// target's signal handler. True: now asynchronously suspended, park;
	// False: the thread self-suspended first, do not park. Handler.
	FinishAsyncSuspend
	// DoBlocking enters a GC-safe region: Running → Blocking, or
	// DoBlockingPollAndRetry when a request won the race. Self.
	DoBlocking
	// DoneBlocking leaves a GC-safe region: Blocking → Running, or parks
	// (DoneBlockingWait) when a suspend is pending. Self.
	DoneBlocking
	// AbortBlocking enters GC-unsafe mode from either mode (Mono's
	// MONO_ENTER_GC_UNSAFE): a no-op from Running, a DoneBlocking from
	// Blocking. Self.
	AbortBlocking
	// BeginNoSafepoints opens a no-safepoints region in GC-unsafe code.
	// Self.
	BeginNoSafepoints
	// EndNoSafepoints closes it. It does not poll. Self.
	EndNoSafepoints
)

// NumEvents is the number of events; valid Event values are [0, NumEvents).
const NumEvents = 14

var eventNames = [NumEvents]string{
	Attach:                       "ATTACH",
	Detach:                       "DETACH",
	RequestSuspension:            "REQUEST_SUSPENSION",
	PeekBlockingSuspendRequested: "PEEK_BLOCKING_SUSPEND_REQUESTED",
	StatePoll:                    "STATE_POLL",
	RequestResume:                "REQUEST_RESUME",
	RequestPulse:                 "REQUEST_PULSE",
	AbortAsyncSuspend:            "ABORT_ASYNC_SUSPEND",
	FinishAsyncSuspend:           "FINISH_ASYNC_SUSPEND",
	DoBlocking:                   "DO_BLOCKING",
	DoneBlocking:                 "DONE_BLOCKING",
	AbortBlocking:                "ABORT_BLOCKING",
	BeginNoSafepoints:            "BEGIN_NO_SAFEPOINTS",
	EndNoSafepoints:              "END_NO_SAFEPOINTS",
}

// monoFunctions names the Mono function each event models, for the
// generated documentation.
var monoFunctions = [NumEvents]string{
	Attach:                       "attach",
	Detach:                       "detach",
	RequestSuspension:            "request_suspension",
	PeekBlockingSuspendRequested: "peek_blocking_suspend_requested",
	StatePoll:                    "state_poll",
	RequestResume:                "request_resume",
	RequestPulse:                 "request_pulse",
	AbortAsyncSuspend:            "abort_async_suspend",
	FinishAsyncSuspend:           "finish_async_suspend",
	DoBlocking:                   "do_blocking",
	DoneBlocking:                 "done_blocking",
	AbortBlocking:                "abort_blocking",
	BeginNoSafepoints:            "begin_no_safepoints",
	EndNoSafepoints:              "end_no_safepoints",
}

// String returns the event's name in upper snake case, e.g. "DO_BLOCKING",
// or EVENT(n) for an undefined value.
func (e Event) String() string {
	if e.Valid() {
		return eventNames[e]
	}
	return "EVENT(" + strconv.Itoa(int(e)) + ")"
}

// Valid reports whether e is one of the fourteen events.
func (e Event) Valid() bool { return e < NumEvents }

// Actor is who applies an event to a thread's word.
type Actor uint8

const (
	// Self is the thread the word describes, running its own code.
	Self Actor = iota + 1
	// Initiator is the one goroutine holding the world's suspend lock.
	Initiator
	// Handler is the signal handler running on the thread itself,
	// interrupting whatever the thread was doing.
	Handler
)

func (a Actor) String() string {
	switch a {
	case Self:
		return "self"
	case Initiator:
		return "initiator"
	case Handler:
		return "handler"
	}
	return "actor(" + strconv.Itoa(int(a)) + ")"
}

// Actor returns the only actor allowed to apply e (invariants I9, I10). In
// this library FinishAsyncSuspend always runs in the target's signal
// handler; Mono's Windows and Mach backends, which call it from the
// initiator, have no Go counterpart.
func (e Event) Actor() Actor {
	switch e {
	case RequestSuspension, PeekBlockingSuspendRequested, RequestResume, RequestPulse, AbortAsyncSuspend:
		return Initiator
	case FinishAsyncSuspend:
		return Handler
	}
	return Self
}
