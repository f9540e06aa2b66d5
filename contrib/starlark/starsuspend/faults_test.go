package starsuspend_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// TestDetachGivesBackNoLimit: a thread that ran while attached, with no
// limit of its own, runs without one after Detach, as without the
// adapter. (Detach set starlark's limit to 0, which means "no limit" only
// before a thread's first call: the next ExecFile was cancelled, "too
// many steps".)
func TestDetachGivesBackNoLimit(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	st := &starlark.Thread{Name: "reused"}
	if err := starsuspend.Run(w, st, "once", func(*starsuspend.Guest) error {
		_, err := execSrc(st, loop, 1000, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := execSrc(st, loop, 1000, nil); err != nil {
		t.Fatalf("ExecFile after Run: %v", err)
	}
	g, err := starsuspend.Attach(w, st, "twice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execSrc(st, loop, 1000, nil); err != nil {
		t.Fatalf("ExecFile while attached again: %v", err)
	}
	if err := g.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := execSrc(st, loop, 100000, nil); err != nil {
		t.Fatalf("ExecFile after Attach and Detach: %v", err)
	}
}

// TestStarlarkLimitSetInOnMaxStepsIsAnError: an embedder's OnMaxSteps
// that extends the limit with starlark's own SetMaxExecutionSteps, not
// the guest's, ends the run with an error that names the right method.
// (The adapter overwrote that limit, so OnMaxSteps ran at every step:
// 190,011 times instead of 20.)
func TestStarlarkLimitSetInOnMaxStepsIsAnError(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	st := &starlark.Thread{Name: "extender"}
	calls := 0
	st.OnMaxSteps = func(st *starlark.Thread) {
		calls++
		st.SetMaxExecutionSteps(st.Steps + 10_000)
	}
	err := starsuspend.Run(w, st, "extender", func(g *starsuspend.Guest) error {
		g.SetMaxExecutionSteps(10_000)
		_, err := execSrc(st, loop, 100_000, nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Guest.SetMaxExecutionSteps") {
		t.Fatalf("run ended with %v, want an error naming Guest.SetMaxExecutionSteps", err)
	}
	if calls > 2 {
		t.Errorf("OnMaxSteps ran %d times", calls)
	}
}

// quitGuest attaches a starlark thread on a goroutine that then ends
// without Detach, and returns once it has.
func quitGuest(t *testing.T, w *suspend.World, name string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		st := &starlark.Thread{Name: name}
		_, err := starsuspend.Attach(w, st, name)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAbandonedGuestLeavesTheAdapter: a guest whose goroutine ended
// without Detach is removed by the world, and so from the adapter: the
// stop that finds it names it abandoned, every StopAll after it works,
// and Guests no longer lists it, nor any guest after Close. The adapter
// does not keep the guest's thread alive, so the world also finds it by
// the garbage collector. (StopAll failed for good: 'guest "quitter" is not
// stopped (RUNNING)'.)
func TestAbandonedGuestLeavesTheAdapter(t *testing.T) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	quitGuest(t, w, "quitter")
	var ste *suspend.StopTimeoutError
	if _, err := starsuspend.StopAll(context.Background(), w); !errors.As(err, &ste) || len(ste.Abandoned) != 1 {
		t.Fatalf("the first StopAll: %v; want a timeout naming the quitter abandoned", err)
	}
	for i := range 3 {
		snap, err := starsuspend.StopAll(context.Background(), w)
		if err != nil {
			t.Fatalf("StopAll %d after the quitter was removed: %v", i, err)
		}
		if len(snap.Guests) != 0 {
			t.Errorf("StopAll %d: views %+v, want none", i, snap.Guests)
		}
		if err := snap.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if gs := starsuspend.Guests(w); len(gs) != 0 {
		t.Errorf("Guests lists %d guests after the quitter was removed", len(gs))
	}

	// Found by the garbage collector, with nothing else to go by.
	quitGuest(t, w, "collected")
	for i := 0; ; i++ {
		runtime.GC()
		snap, err := starsuspend.StopAll(context.Background(), w)
		if err == nil {
			if err := snap.Restart(); err != nil {
				t.Fatal(err)
			}
			break
		}
		if i == 10 {
			t.Fatalf("StopAll after %d collections: %v; the adapter keeps the guest alive", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if gs := starsuspend.Guests(w); len(gs) != 0 {
		t.Errorf("Guests lists %d guests after Close", len(gs))
	}
}
