package core

import (
	"errors"

	"github.com/coopsuspend/coopsuspend/internal/goid"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// The thread side of the protocol (docs/mono-protocol.md §4.2). Each function is
// called by the thread itself, on its own goroutine; a protocol violation
// panics with a *threadstate.TransitionError that names the thread.
//
// Invariants the functions keep:
//
//   - A thread parks only after a transition told it to (NotifyAndWait,
//     DoneBlockingWait, AbortBlockingWait), and always on its resume
//     semaphore, as a goroutine: parking releases the P.
//   - It notifies the initiator exactly when the transition says so
//     (SelfSuspendNotifyAndWait), after the word is published and before
//     it parks; a park on the way out of a blocking region notifies no
//     one, because the initiator already counts the thread as stopped.
//   - After a park the word says Running: the resume that woke it moved
//     it there.

// apply applies a self event and panics on a refusal. It first checks
// that the caller is the thread's own goroutine: cheaply in every build
// (checkGoroutine), and by the goroutine's number in a coopcheck build.
func (t *Thread) apply(e ts.Event) ts.Result {
	if ts.Checked {
		t.checkAffinity(e) // first: its error names both goroutines
	}
	t.checkGoroutine(e, "")
	r, err := t.Cell.Apply(e)
	if err != nil {
		t.fail(err)
	}
	return r
}

// checkGoroutine panics with a *threadstate.TransitionError unless the
// calling goroutine is the thread's (OwnerG). A thread-side call from
// another goroutine breaks the protocol silently (a Poll from a stranger
// parks the stranger while the thread runs on through a stop), or fails
// with whatever refusal its event happened to meet. Tokens of ended
// goroutines are recycled, so a match may miss a stranger that took the
// ended owner's; a mismatch is certain. The error names the event e, or
// the call when it applies none.
func (t *Thread) checkGoroutine(e ts.Event, call string) {
	if t.OwnerG == 0 || goid.G() == t.OwnerG {
		return
	}
	panic(&ts.TransitionError{Thread: t.Name, Word: t.Cell.Load(), Event: e, Call: call,
		Reason: "called from another goroutine than the thread's: thread-side calls (Poll, blocking and " +
			"no-safepoints regions, EnterUnsafe/ExitUnsafe, Detach) belong to the goroutine that attached the thread " +
			"(or, for a coroutine's thread, to the coroutine running on it); build with -tags coopcheck to see both goroutines' numbers"})
}

func (t *Thread) fail(err error) {
	var te *ts.TransitionError
	if errors.As(err, &te) {
		panic(te.WithThread(t.Name))
	}
	panic(err)
}

// park blocks the thread on its resume semaphore. It does not time the
// park: two clock reads per park made a stop of 64 threads take 1.8x as
// long on the development VM (docs/benchmarks.md).
func (t *Thread) park() {
	t.resume.Wait()
	t.stats.parks.Add(1)
}

// PollSlow is the safepoint's slow path, taken when the fast path saw
// anything but a plain Running word: park if a suspend is requested;
// otherwise the poll is a protocol violation (inside a no-safepoints or
// blocking region, after Detach) and StatePoll's refusal panics.
func (t *Thread) PollSlow() {
	t.stats.slowPolls.Add(1)
	switch t.apply(ts.StatePoll) {
	case ts.SelfSuspendNotifyAndWait:
		t.Notifier.PostArrival(t)
		t.park()
	case ts.SelfSuspendResumed:
		// The request was withdrawn between the fast path's load and
		// the transition.
	}
}

// EnterSafe enters a blocking (GC-safe) region: the thread promises not to
// touch the runtime's shared state until ExitSafe, and counts as stopped
// meanwhile. If a suspend request won the race it polls (and parks) first.
func (t *Thread) EnterSafe() {
	for t.apply(ts.DoBlocking) == ts.DoBlockingPollAndRetry {
		t.PollSlow()
	}
	t.inSafe = true
}

// ExitSafe leaves the blocking region; if a suspend is pending it parks
// until resumed, without notifying (the initiator already counts it as
// stopped).
func (t *Thread) ExitSafe() {
	if t.regionEndedByDetach {
		t.regionEndedByDetach = false
		return
	}
	r := t.apply(ts.DoneBlocking)
	t.inSafe = false
	if r == ts.DoneBlockingWait {
		t.park()
	}
}

// EnterUnsafe enters GC-unsafe mode from either mode and reports whether
// ExitUnsafe must re-enter a blocking region (the thread was in one).
func (t *Thread) EnterUnsafe() (reenter bool) {
	switch t.apply(ts.AbortBlocking) {
	case ts.AbortBlockingIgnore:
		return false
	case ts.AbortBlockingIgnoreAndPoll:
		t.PollSlow()
		return false
	case ts.AbortBlockingWait:
		t.inSafe = false
		t.park()
		return true
	default: // AbortBlockingOk
		t.inSafe = false
		return true
	}
}

// ExitUnsafe undoes EnterUnsafe: back into the blocking region if reenter.
// Without reenter it applies no event, so the coopcheck build checks the
// caller's goroutine here.
func (t *Thread) ExitUnsafe(reenter bool) {
	if reenter {
		t.EnterSafe()
		return
	}
	if ts.Checked {
		t.checkCallAffinity("ExitUnsafe")
	}
	t.checkGoroutine(0, "ExitUnsafe")
}

// BeginNoSafepoints opens a no-safepoints region.
func (t *Thread) BeginNoSafepoints() { t.apply(ts.BeginNoSafepoints) }

// EndNoSafepoints closes it; it does not poll.
func (t *Thread) EndNoSafepoints() { t.apply(ts.EndNoSafepoints) }

// Attach moves the Starting thread to Running.
func (t *Thread) Attach() { t.apply(ts.Attach) }

// TryDetach applies Detach and reports whether the thread is now detached
// (false: a request is pending and the caller must let it finish first).
// inUserRegion says the thread was inside a blocking region of its own
// when Detach was called: Detach ends it, and the ExitSafe that closes it
// then does nothing.
func (t *Thread) TryDetach(inUserRegion bool) bool {
	if t.apply(ts.Detach) != ts.True {
		return false
	}
	t.inSafe = false
	t.regionEndedByDetach = inUserRegion
	return true
}
