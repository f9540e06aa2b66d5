//go:build coopcheck

package suspend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestThreadSideCallsFromAnotherGoroutinePanic (coopcheck): a thread-side
// call from a goroutine other than the attached one panics with a
// *threadstate.TransitionError that names the thread, and changes
// nothing; the thread's own goroutine goes on as before. (A stranger's
// Poll used to park the stranger while the owner ran on through the
// stop.)
func TestThreadSideCallsFromAnotherGoroutinePanic(t *testing.T) {
	w := newWorld(t, suspend.WithPolicy(suspend.Coop))
	onThread(t, w, "owned", func(th *suspend.Thread) {
		calls := map[string]func(){
			"BeginNoSafepoints": func() { safepoint.BeginNoSafepoints(th) },
			"EnterSafe":         func() { safepoint.EnterSafe(th) },
			"EnterUnsafe":       func() { safepoint.EnterUnsafe(th) },
			"Detach":            func() { th.Detach() },
			// The owner's no-safepoints region sends every Poll to
			// the slow path, where the stranger must be caught before
			// the region's own refusal.
			"Poll": func() { safepoint.Poll(th) },
		}
		for what, call := range calls {
			if what == "Poll" {
				safepoint.BeginNoSafepoints(th)
			}
			before := th.Word()
			done := make(chan any)
			go func() {
				defer func() { done <- recover() }()
				call()
			}()
			p := <-done
			te, ok := p.(*threadstate.TransitionError)
			if !ok || te.Thread != "owned" || !strings.Contains(te.Error(), "goroutine") {
				t.Errorf("%s from another goroutine: recovered %v, want a *threadstate.TransitionError naming the thread", what, p)
			}
			if th.Word() != before {
				t.Errorf("%s from another goroutine changed the word from %v to %v", what, before, th.Word())
			}
			if what == "Poll" {
				safepoint.EndNoSafepoints(th)
			}
		}
		safepoint.Poll(th)
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
}

// TestCoopAttachTwiceIsAnError (coopcheck): a coop world does not lock
// threads, so only the checked build sees a goroutine attach twice.
func TestCoopAttachTwiceIsAnError(t *testing.T) {
	w1, w2 := newWorld(t, suspend.WithPolicy(suspend.Coop)), newWorld(t, suspend.WithPolicy(suspend.Coop))
	onThread(t, w1, "first", func(th *suspend.Thread) {
		for _, w := range []*suspend.World{w1, w2} {
			if again, err := w.Attach("second"); !errors.Is(err, suspend.ErrAttached) {
				t.Errorf("second Attach: %v, %v; want ErrAttached", again, err)
			}
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
		// Once detached, the goroutine may attach again.
		again, err := w2.Attach("again")
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Detach(); err != nil {
			t.Error(err)
		}
	})
}
