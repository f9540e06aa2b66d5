package suspend_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestThreadSideCallsFromAnotherGoroutinePanic, in every build: every
// thread-side call made from a goroutine other than the attached one
// panics with a *threadstate.TransitionError that names the thread, and
// changes nothing; the thread's own goroutine goes on as before. Each call
// runs against a thread of its own, put first by its owner in the state
// the call needs (inside a blocking region for ExitSafe, holding a Cookie
// for ExitUnsafe, and so on), so that one call that gets through cannot
// hide the others. (A stranger's Poll used to park the stranger while the
// owner ran on through the stop.)
func TestThreadSideCallsFromAnotherGoroutinePanic(t *testing.T) {
	w := newWorld(t, suspend.WithPolicy(suspend.Coop))
	type threadSide struct {
		name string
		// setup (by the owner) puts the thread in the state the call
		// needs; teardown (by the owner) takes it back to Running.
		setup    func(th *suspend.Thread)
		call     func(th *suspend.Thread)
		teardown func(th *suspend.Thread)
	}
	var cookie safepoint.Cookie // the owner's, for the ExitUnsafe cases
	enterSafe := func(th *suspend.Thread) { safepoint.EnterSafe(th) }
	exitSafe := func(th *suspend.Thread) { safepoint.ExitSafe(th) }
	enterUnsafe := func(th *suspend.Thread) { cookie = safepoint.EnterUnsafe(th) }
	exitUnsafe := func(th *suspend.Thread) { safepoint.ExitUnsafe(th, cookie) }
	begin := func(th *suspend.Thread) { safepoint.BeginNoSafepoints(th) }
	end := func(th *suspend.Thread) { safepoint.EndNoSafepoints(th) }
	detach := func(th *suspend.Thread) {
		if err := th.Detach(); err != nil {
			t.Errorf("Detach from another goroutine returned %v instead of panicking", err)
		}
	}
	for _, c := range []threadSide{
		// The owner's no-safepoints region sends every Poll to the
		// slow path, where the stranger must be caught before the
		// region's own refusal.
		{name: "Poll", setup: begin, call: safepoint.Poll, teardown: end},
		{name: "EnterSafe", call: enterSafe},
		{name: "ExitSafe", setup: enterSafe, call: exitSafe, teardown: exitSafe},
		{name: "EnterUnsafe", call: enterUnsafe},
		{name: "EnterUnsafe in a region", setup: enterSafe, call: enterUnsafe, teardown: exitSafe},
		// A Cookie from Running re-enters nothing: ExitUnsafe changes
		// no word, and must check all the same.
		{name: "ExitUnsafe", setup: enterUnsafe, call: exitUnsafe, teardown: exitUnsafe},
		{name: "ExitUnsafe back into a region",
			setup:    func(th *suspend.Thread) { enterSafe(th); enterUnsafe(th) },
			call:     exitUnsafe,
			teardown: func(th *suspend.Thread) { exitUnsafe(th); exitSafe(th) }},
		{name: "BeginNoSafepoints", call: begin},
		{name: "EndNoSafepoints", setup: begin, call: end, teardown: end},
		{name: "Detach", call: detach},
		{name: "Detach in a region", setup: enterSafe, call: detach, teardown: exitSafe},
	} {
		testutil.OnThreadNoDetach(t, w, "owned", func(th *suspend.Thread) {
			if c.setup != nil {
				c.setup(th)
			}
			before := th.Word()
			p := fromAnotherGoroutine(func() { c.call(th) })
			if !refusedAsStranger(p, "owned") {
				t.Errorf("%s from another goroutine: recovered %v, want a *threadstate.TransitionError naming the thread and the goroutines", c.name, p)
			}
			if th.Word() != before {
				// The call went through: the owner cannot undo it.
				t.Errorf("%s from another goroutine changed the word from %v to %v", c.name, before, th.Word())
				return
			}
			if c.teardown != nil {
				c.teardown(th)
			}
			safepoint.Poll(th)
			if err := th.Detach(); err != nil {
				t.Errorf("%s: the owner's Detach after the refusal: %v", c.name, err)
			}
		})
	}
}

// TestStrangerPollDuringAStopPanics, in every build: the case of the
// report.
// A stop waits for a thread; a Poll from another goroutine must not park
// that goroutine in the thread's place (the stop would then complete with
// the owner still running). It panics, the stop goes on waiting, and the
// owner's own Poll completes it.
func TestStrangerPollDuringAStopPanics(t *testing.T) {
	w := newWorld(t, suspend.WithPolicy(suspend.Coop))
	testutil.OnThreadNoDetach(t, w, "owned", func(th *suspend.Thread) {
		stopped := make(chan *suspend.Stopped, 1)
		go func() {
			s := stopWorld(t, w)
			stopped <- s
			if err := s.Restart(); err != nil {
				t.Error(err)
			}
		}()
		for th.Word().State() != threadstate.AsyncSuspendRequested {
			runtime.Gosched() // no Poll here: the owner must not answer yet
		}
		before := th.Word()
		if p := fromAnotherGoroutine(func() { safepoint.Poll(th) }); !refusedAsStranger(p, "owned") {
			t.Errorf("Poll from another goroutine during a stop: recovered %v, want a *threadstate.TransitionError naming the thread", p)
		}
		if th.Word() != before {
			t.Errorf("the stranger's Poll changed the word from %v to %v", before, th.Word())
		}
		select {
		case <-stopped:
			t.Error("the stop completed on a stranger's Poll while the owner ran")
		default:
			safepoint.Poll(th) // parks until the restart
			<-stopped
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
}

// fromAnotherGoroutine runs call on a new goroutine and returns what it
// panicked with (nil if it returned).
func fromAnotherGoroutine(call func()) any {
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		call()
	}()
	return <-done
}

// refusedAsStranger reports whether p is the goroutine check's panic for
// thread name: in the coopcheck build the one that names both goroutines'
// numbers, in the others the one that compares goroutine tokens.
func refusedAsStranger(p any, name string) bool {
	te, ok := p.(*threadstate.TransitionError)
	want := "called from another goroutine than the thread's"
	if threadstate.Checked {
		want = "attached to goroutine"
	}
	return ok && te.Thread == name && strings.Contains(te.Error(), want)
}
