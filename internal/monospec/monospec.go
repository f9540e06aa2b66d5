// Package monospec is an independent statement of Mono's transition
// functions, written from docs/mono-protocol.md §3.1–§3.14 in the
// shape of Mono's own code: one function per transition, a switch over the
// state, the preconditions as explicit tests. It shares nothing with
// threadstate's table but the names of states, events and results, so that
// tests can hold the table against it word by word.
//
// It is test support: slow, allocation-free and obviously correct rather
// than fast.
package monospec

import ts "github.com/coopsuspend/coopsuspend/threadstate"

// Outcome is what the reference says a transition does to a word. When
// Fatal is set the other fields are meaningless: Mono aborts the process
// and the Go port refuses the event without writing.
type Outcome struct {
	Fatal        bool
	State        ts.State
	Count        int
	NoSafepoints bool
	Result       ts.Result
}

// Word packs the outcome's fields with the reference's layout (§2): state in
// bits 0-6, no-safepoints in bit 7, count in bits 8-15.
func (o Outcome) Word() uint32 {
	w := uint32(o.State) | uint32(o.Count)<<8
	if o.NoSafepoints {
		w |= 0x80
	}
	return w
}

// Apply returns the reference's outcome of event e on a thread whose word
// holds state s, suspend count n (0..255) and no-safepoints flag ns.
func Apply(s ts.State, n int, ns bool, e ts.Event) Outcome {
	t := thread{s, n, ns}
	switch e {
	case ts.Attach:
		return t.attach()
	case ts.Detach:
		return t.detach()
	case ts.RequestSuspension:
		return t.requestSuspension()
	case ts.PeekBlockingSuspendRequested:
		return t.peekBlockingSuspendRequested()
	case ts.StatePoll:
		return t.statePoll()
	case ts.RequestResume:
		return t.requestResume()
	case ts.RequestPulse:
		return t.requestPulse()
	case ts.AbortAsyncSuspend:
		return t.abortAsyncSuspend()
	case ts.FinishAsyncSuspend:
		return t.finishAsyncSuspend()
	case ts.DoBlocking:
		return t.doBlocking()
	case ts.DoneBlocking:
		return t.doneBlocking()
	case ts.AbortBlocking:
		return t.abortBlocking()
	case ts.BeginNoSafepoints:
		return t.beginNoSafepoints()
	case ts.EndNoSafepoints:
		return t.endNoSafepoints()
	}
	return fatal
}

type thread struct {
	s  ts.State
	n  int
	ns bool
}

var fatal = Outcome{Fatal: true}

// to builds the outcome of a transition that changes the state, count or
// flag; same returns the word unchanged.
func to(s ts.State, n int, ns bool, r ts.Result) Outcome {
	return Outcome{State: s, Count: n, NoSafepoints: ns, Result: r}
}

func (t thread) same(r ts.Result) Outcome { return to(t.s, t.n, t.ns, r) }

// §3.1
func (t thread) attach() Outcome {
	if t.s == ts.Starting && t.n == 0 && !t.ns {
		return to(ts.Running, 0, false, ts.NoResult)
	}
	return fatal
}

// §3.2
func (t thread) detach() Outcome {
	switch t.s {
	case ts.Running, ts.Blocking:
		if t.n != 0 || t.ns {
			return fatal
		}
		return to(ts.Detached, 0, false, ts.True)
	case ts.AsyncSuspendRequested, ts.BlockingSuspendRequested:
		return t.same(ts.False)
	}
	return fatal
}

// §3.3
func (t thread) requestSuspension() Outcome {
	switch t.s {
	case ts.Running:
		if t.n != 0 {
			return fatal
		}
		return to(ts.AsyncSuspendRequested, 1, t.ns, ts.ReqSuspendInitSuspendRunning)
	case ts.SelfSuspended, ts.AsyncSuspended, ts.BlockingSelfSuspended, ts.BlockingAsyncSuspended:
		if t.ns || t.n <= 0 || t.n >= 255 {
			return fatal
		}
		return to(t.s, t.n+1, false, ts.ReqSuspendAlreadySuspended)
	case ts.Blocking:
		if t.n != 0 || t.ns {
			return fatal
		}
		return to(ts.BlockingSuspendRequested, 1, false, ts.ReqSuspendInitSuspendBlocking)
	case ts.BlockingSuspendRequested:
		if t.n <= 0 || t.n >= 255 || t.ns {
			return fatal
		}
		return to(t.s, t.n+1, false, ts.ReqSuspendAlreadySuspendedBlocking)
	}
	return fatal
}

// §3.4
func (t thread) peekBlockingSuspendRequested() Outcome {
	switch t.s {
	case ts.AsyncSuspended, ts.SelfSuspended:
		return t.same(ts.False)
	case ts.BlockingSelfSuspended, ts.BlockingAsyncSuspended, ts.BlockingSuspendRequested:
		if t.n <= 0 || t.n >= 255 || t.ns {
			return fatal
		}
		if t.s == ts.BlockingSuspendRequested {
			return t.same(ts.True)
		}
		return t.same(ts.False)
	}
	return fatal
}

// §3.5
func (t thread) statePoll() Outcome {
	switch t.s {
	case ts.Running:
		if t.ns || t.n != 0 {
			return fatal
		}
		return t.same(ts.SelfSuspendResumed)
	case ts.AsyncSuspendRequested:
		if t.ns || t.n <= 0 {
			return fatal
		}
		return to(ts.SelfSuspended, t.n, false, ts.SelfSuspendNotifyAndWait)
	}
	return fatal
}

// §3.6
func (t thread) requestResume() Outcome {
	switch t.s {
	case ts.Running:
		if t.n != 0 {
			return fatal
		}
		return t.same(ts.ResumeError)
	case ts.Blocking:
		if t.n != 0 || t.ns {
			return fatal
		}
		return t.same(ts.ResumeError)
	}
	// The suspended and requested states: the last resume moves the
	// thread to lastState with lastResult; earlier ones only count down.
	var lastState ts.State
	var lastResult ts.Result
	switch t.s {
	case ts.BlockingSuspendRequested:
		lastState, lastResult = ts.Blocking, ts.ResumeOk
	case ts.BlockingAsyncSuspended:
		lastState, lastResult = ts.Blocking, ts.ResumeInitAsyncResume
	case ts.BlockingSelfSuspended:
		lastState, lastResult = ts.Running, ts.ResumeInitBlockingResume
	case ts.AsyncSuspended:
		lastState, lastResult = ts.Running, ts.ResumeInitAsyncResume
	case ts.SelfSuspended:
		lastState, lastResult = ts.Running, ts.ResumeInitSelfResume
	default: // AsyncSuspendRequested, Starting, Detached
		return fatal
	}
	if t.n <= 0 || t.ns {
		return fatal
	}
	if t.n > 1 {
		return to(t.s, t.n-1, false, ts.ResumeOk)
	}
	return to(lastState, 0, false, lastResult)
}

// §3.7
func (t thread) requestPulse() Outcome {
	if t.s != ts.BlockingAsyncSuspended || t.n != 1 || t.ns {
		return fatal
	}
	return to(ts.BlockingSuspendRequested, 1, false, ts.PulseInitAsyncPulse)
}

// §3.8
func (t thread) abortAsyncSuspend() Outcome {
	switch t.s {
	case ts.SelfSuspended, ts.BlockingSelfSuspended:
		if t.ns {
			return fatal
		}
		return t.same(ts.False)
	case ts.AsyncSuspendRequested, ts.BlockingSuspendRequested:
		// DIFF from §3.8: the port accepts the no-safepoints flag in
		// AsyncSuspendRequested and keeps it, so that a cooperative stop
		// that times out can withdraw its request from a thread inside a
		// no-safepoints region (docs/state-machine.md, "Differences").
		if t.n <= 0 || t.ns && t.s != ts.AsyncSuspendRequested {
			return fatal
		}
		if t.n > 1 {
			return to(t.s, t.n-1, t.ns, ts.True)
		}
		// Even from BlockingSuspendRequested (§3.8's quirk).
		return to(ts.Running, 0, t.ns, ts.True)
	}
	return fatal
}

// §3.9
func (t thread) finishAsyncSuspend() Outcome {
	switch t.s {
	case ts.SelfSuspended, ts.BlockingSelfSuspended:
		if t.ns {
			return fatal
		}
		return t.same(ts.False)
	case ts.AsyncSuspendRequested:
		if t.n <= 0 || t.ns {
			return fatal
		}
		return to(ts.AsyncSuspended, t.n, false, ts.True)
	case ts.BlockingSuspendRequested:
		if t.n <= 0 || t.ns {
			return fatal
		}
		return to(ts.BlockingAsyncSuspended, t.n, false, ts.True)
	}
	return fatal
}

// §3.10
func (t thread) doBlocking() Outcome {
	switch t.s {
	case ts.Running:
		if t.n != 0 || t.ns {
			return fatal
		}
		return to(ts.Blocking, 0, false, ts.DoBlockingContinue)
	case ts.AsyncSuspendRequested:
		if t.n <= 0 || t.ns {
			return fatal
		}
		return t.same(ts.DoBlockingPollAndRetry)
	}
	return fatal
}

// §3.11
func (t thread) doneBlocking() Outcome {
	switch t.s {
	case ts.Blocking:
		if t.n != 0 || t.ns {
			return fatal
		}
		return to(ts.Running, 0, false, ts.DoneBlockingOk)
	case ts.BlockingSuspendRequested:
		if t.n <= 0 || t.ns {
			return fatal
		}
		return to(ts.BlockingSelfSuspended, t.n, false, ts.DoneBlockingWait)
	}
	return fatal
}

// §3.12. Mono clears the no-safepoints flag of a Running thread before its
// fatal error; the Go port refuses without writing, and so does the
// oracle, whose fatal outcomes leave the word as it was.
func (t thread) abortBlocking() Outcome {
	switch t.s {
	case ts.Running:
		if t.ns {
			return fatal
		}
		return t.same(ts.AbortBlockingIgnore)
	case ts.AsyncSuspendRequested:
		if t.ns {
			return fatal
		}
		return t.same(ts.AbortBlockingIgnoreAndPoll)
	case ts.Blocking:
		if t.n != 0 || t.ns {
			return fatal
		}
		return to(ts.Running, 0, false, ts.AbortBlockingOk)
	case ts.BlockingSuspendRequested:
		if t.n <= 0 || t.ns {
			return fatal
		}
		return to(ts.BlockingSelfSuspended, t.n, false, ts.AbortBlockingWait)
	}
	return fatal
}

// §3.13
func (t thread) beginNoSafepoints() Outcome {
	if (t.s == ts.Running || t.s == ts.AsyncSuspendRequested) && !t.ns {
		return to(t.s, t.n, true, ts.NoResult)
	}
	return fatal
}

// §3.14
func (t thread) endNoSafepoints() Outcome {
	if (t.s == ts.Running || t.s == ts.AsyncSuspendRequested) && t.ns {
		return to(t.s, t.n, false, ts.NoResult)
	}
	return fatal
}
