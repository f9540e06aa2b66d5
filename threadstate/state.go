package threadstate

import "strconv"

// State is the 7-bit state field of a Word. The numeric values are Mono's
// (since its 2018 hybrid-suspend renumbering) so that raw words printed by
// dumps read the same as Mono's cue card.
//
// Each constant says who moves a thread into the state and who moves it out.
// "Self" is the thread the word describes, "initiator" the single goroutine
// that holds the world's suspend lock, "handler" the signal handler running
// on the thread itself.
type State uint8

const (
	// Starting: the word is zero and the thread has not attached. Self
	// leaves it with Attach; nothing enters it.
	Starting State = 0

	// Detached: the thread has unregistered. Self enters it with Detach;
	// it is absorbing: every event on a detached word is refused.
	Detached State = 1

	// Running: attached and running GC-unsafe code, so it must poll.
	// Self enters it (Attach, DoneBlocking, AbortBlocking) and the
	// initiator restores it (RequestResume of a suspended thread,
	// AbortAsyncSuspend). The initiator moves it to
	// AsyncSuspendRequested; self moves it to Blocking or Detached.
	Running State = 2

	// AsyncSuspended: stopped asynchronously while GC-unsafe; its context
	// is in the ASYNC slot. The handler enters it (FinishAsyncSuspend);
	// only the initiator leaves it (RequestResume). Only Mono's
	// preemptive policy reaches it; in Go, Go code is never parked
	// asynchronously (docs/go-rules.md rule 1).
	AsyncSuspended State = 3

	// SelfSuspended: stopped at a poll; its context is in the SELF slot
	// and it waits on its resume semaphore. Self enters it (StatePoll);
	// only the initiator leaves it (RequestResume).
	SelfSuspended State = 4

	// AsyncSuspendRequested: the initiator asked a running thread to
	// stop (RequestSuspension) and the thread is still executing. Self
	// leaves it at its next poll (StatePoll), the handler by
	// FinishAsyncSuspend, the initiator by AbortAsyncSuspend.
	AsyncSuspendRequested State = 5

	// Blocking: GC-safe; the thread promised not to touch shared runtime
	// state (a blocking call) and keeps running. Self enters it
	// (DoBlocking) and leaves it (DoneBlocking, AbortBlocking, Detach);
	// the initiator moves it to BlockingSuspendRequested.
	Blocking State = 6

	// BlockingAsyncSuspended: a GC-safe thread stopped asynchronously
	// (hybrid mop-up); ASYNC slot. The handler enters it; the initiator
	// leaves it (RequestResume back to Blocking, RequestPulse back to
	// BlockingSuspendRequested).
	BlockingAsyncSuspended State = 7

	// BlockingSelfSuspended: the thread tried to leave a GC-safe region
	// (DoneBlocking, AbortBlocking) while a suspend was pending and now
	// waits on its resume semaphore; SELF slot. Only the initiator leaves
	// it (RequestResume, which finishes the interrupted exit: Running).
	BlockingSelfSuspended State = 8

	// BlockingSuspendRequested: suspension requested while GC-safe; the
	// thread is still running. In coop it already counts as suspended. The
	// initiator enters it (RequestSuspension of a Blocking thread, or
	// RequestPulse) and leaves it (RequestResume, AbortAsyncSuspend);
	// self leaves it by DoneBlocking/AbortBlocking, parking in
	// BlockingSelfSuspended; the handler by FinishAsyncSuspend.
	BlockingSuspendRequested State = 9
)

// NumStates is the number of defined states; valid State values are
// [0, NumStates).
const NumStates = 10

var stateNames = [NumStates]string{
	Starting:                 "STARTING",
	Detached:                 "DETACHED",
	Running:                  "RUNNING",
	AsyncSuspended:           "ASYNC_SUSPENDED",
	SelfSuspended:            "SELF_SUSPENDED",
	AsyncSuspendRequested:    "ASYNC_SUSPEND_REQUESTED",
	Blocking:                 "BLOCKING",
	BlockingAsyncSuspended:   "BLOCKING_ASYNC_SUSPENDED",
	BlockingSelfSuspended:    "BLOCKING_SELF_SUSPENDED",
	BlockingSuspendRequested: "BLOCKING_SUSPEND_REQUESTED",
}

// String returns Mono's name for the state, or STATE(n) for a value outside
// the defined range.
func (s State) String() string {
	if s.Valid() {
		return stateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the ten defined states.
func (s State) Valid() bool { return s < NumStates }

// IsExecuting reports whether a thread in s may be executing code:
// Running, AsyncSuspendRequested, Blocking, BlockingSuspendRequested.
// This is Mono's mono_thread_info_is_running.
func (s State) IsExecuting() bool {
	return executingStates.Has(s)
}

// IsParked reports whether a thread in s is stopped and waits for the
// initiator: AsyncSuspended, SelfSuspended, BlockingAsyncSuspended,
// BlockingSelfSuspended. A parked thread makes no transition of its own
// (invariant I8).
func (s State) IsParked() bool {
	return parkedStates.Has(s)
}

// IsLive reports whether s belongs to an attached thread: every state but
// Starting and Detached (Mono's mono_thread_info_is_live).
func (s State) IsLive() bool {
	return s.Valid() && s != Starting && s != Detached
}

// IsGCUnsafe reports whether a thread in s is in GC-unsafe mode and may
// touch shared runtime state: Running, AsyncSuspendRequested (Mono's
// mono_thread_is_gc_unsafe_mode).
func (s State) IsGCUnsafe() bool {
	return s == Running || s == AsyncSuspendRequested
}

// IsGCSafe reports whether a thread in s is inside a GC-safe (blocking)
// region: Blocking, BlockingSuspendRequested, BlockingAsyncSuspended.
// BlockingSelfSuspended is neither safe nor unsafe: the thread was leaving
// its GC-safe region when it parked.
func (s State) IsGCSafe() bool {
	return gcSafeStates.Has(s)
}

// StateSet is a set of States, one bit per state.
type StateSet uint16

// States returns the set holding the given states.
func States(states ...State) StateSet {
	var set StateSet
	for _, s := range states {
		set = set.With(s)
	}
	return set
}

// With returns set with s added. Invalid states are ignored.
func (set StateSet) With(s State) StateSet {
	if !s.Valid() {
		return set
	}
	return set | 1<<s
}

// Has reports whether s is in set.
func (set StateSet) Has(s State) bool { return s.Valid() && set&(1<<s) != 0 }

// Slice returns the members of set in numeric order.
func (set StateSet) Slice() []State {
	var out []State
	for s := State(0); s < NumStates; s++ {
		if set.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// String lists the members, e.g. "{RUNNING, BLOCKING}".
func (set StateSet) String() string {
	b := []byte{'{'}
	for i, s := range set.Slice() {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, s.String()...)
	}
	return string(append(b, '}'))
}

var (
	executingStates = States(Running, AsyncSuspendRequested, Blocking, BlockingSuspendRequested)
	parkedStates    = States(AsyncSuspended, SelfSuspended, BlockingAsyncSuspended, BlockingSelfSuspended)
	gcSafeStates    = States(Blocking, BlockingSuspendRequested, BlockingAsyncSuspended)
	gcUnsafeStates  = States(Running, AsyncSuspendRequested, SelfSuspended, AsyncSuspended)
	// countedStates are the states whose suspend count is at least one
	// (invariant I2); in every other state it is zero.
	countedStates = States(AsyncSuspended, SelfSuspended, AsyncSuspendRequested,
		BlockingAsyncSuspended, BlockingSelfSuspended, BlockingSuspendRequested)
)

// The states each of Mono's suspend policies can reach (invariant I11 of
// the reference), for checkers and property tests. Go's own preemptive
// policy differs from Mono's, because Go code is always suspended
// cooperatively; package suspend documents the sets of its policies.
// (Mono's preemptive policy, which stops threads by signals only and
// has no blocking states, is modelled in internal/stwmodel.)
var (
	// MonoCoopStates: polls and GC-safe regions; nothing asynchronous.
	MonoCoopStates = States(Starting, Detached, Running, AsyncSuspendRequested, SelfSuspended,
		Blocking, BlockingSuspendRequested, BlockingSelfSuspended)
	// MonoHybridStates: coop, plus asynchronous suspension of GC-safe
	// threads in the mop-up phase. AsyncSuspended is never reached.
	MonoHybridStates = MonoCoopStates.With(BlockingAsyncSuspended)
)
