package suspend_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// quitAttached attaches a goroutine to w as a thread named name and lets
// it end without Detach; it returns the thread once the goroutine has
// ended. The caller keeps the *Thread, as an embedder may (in a VM's
// thread object), so the garbage collector cannot find it unreachable.
func quitAttached(t *testing.T, w *suspend.World, name string) *suspend.Thread {
	t.Helper()
	type quitter struct {
		th *suspend.Thread
		g  uint64
	}
	got := make(chan quitter, 1)
	go func() {
		th, err := w.Attach(name)
		if err != nil {
			t.Error(err)
		}
		if th != nil {
			safepoint.Poll(th)
		}
		got <- quitter{th, goid.Current()}
		// Returns attached (and, under hybrid, locked: Go ends the OS
		// thread, unless it is the main thread, which it keeps).
	}()
	q := <-got
	if q.th == nil {
		t.FailNow()
	}
	waitUntil(t, name+"'s goroutine ends", func() bool { return !goid.Alive().Has(q.g) })
	return q.th
}

// TestEndedGoroutineIsNamed: a goroutine that ended without Detach while
// the embedder still holds its *Thread keeps its word Running, so a stop
// waits for it until the stop times out. That stop names it abandoned
// (its goroutine is gone) and removes it, and the next stop completes:
// one misuse costs one timeout, in every policy, not every stop until
// the handle is dropped.
func TestEndedGoroutineIsNamed(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(200*time.Millisecond))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("policy %v does not run here: %v", p, err)
			}
			ps := startPollers(t, w, 1)
			defer ps.stop()
			kept := quitAttached(t, w, "quitter")
			_, err := w.Stop(context.Background())
			var ste *suspend.StopTimeoutError
			if !errors.As(err, &ste) || len(ste.Abandoned) != 1 || ste.Abandoned[0] != "quitter" {
				t.Fatalf("Stop with a thread whose goroutine ended: %v; want a *StopTimeoutError naming it abandoned", err)
			}
			s, err := w.Stop(context.Background())
			if err != nil {
				t.Fatalf("the stop after the one that removed the quitter: %v", err)
			}
			if n := len(s.Threads()); n != 1 {
				t.Errorf("the stop counts %d threads, want the poller", n)
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if st := w.Stats(); st.Abandoned != 1 || st.TimedOut != 1 {
				t.Errorf("stats %+v, want one abandoned thread and one timeout", st)
			}
			runtime.KeepAlive(kept)
		})
	}
}

// TestCloseRemovesEndedGoroutines: Close does not count a thread whose
// goroutine ended without Detach as attached, even while its *Thread is
// held, and closes the world.
func TestCloseRemovesEndedGoroutines(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w, err := suspend.NewWorld(suspend.WithPolicy(p))
			if err != nil {
				t.Skipf("policy %v does not run here: %v", p, err)
			}
			kept := quitAttached(t, w, "quitter")
			if err := w.Close(); err != nil {
				t.Fatalf("Close with only an ended goroutine's thread: %v", err)
			}
			if st := w.Stats(); st.Abandoned != 1 {
				t.Errorf("stats %+v, want one abandoned thread", st)
			}
			runtime.KeepAlive(kept)
		})
	}
}
