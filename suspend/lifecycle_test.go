package suspend_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// within runs fn and fails the test if it does not return in a generous
// time: the calls it guards used to hang forever. A panic in fn fails the
// test with the panic's value instead of crashing the binary.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn()
	}()
	select {
	case p := <-done:
		if p != nil {
			t.Fatalf("%s panicked: %v", what, p)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return: it hangs", what)
	}
}

// withinHere is within for thread-side calls, which must run on the
// attached goroutine itself: a hang crashes the test binary with this
// message after the same generous time (nothing can unblock the call).
func withinHere(t *testing.T, what string, fn func()) {
	t.Helper()
	watchdog := time.AfterFunc(20*time.Second, func() { panic(what + " did not return: it hangs") })
	defer watchdog.Stop()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panicked: %v", what, p)
		}
	}()
	fn()
}

// TestSuspendLimitIsAnError: a thread's suspend count holds 255. The 256th
// SuspendThread, and a Stop of a thread at 255, return ErrSuspendLimit and
// change nothing; the world stays usable (ResumeThread, Stop, Detach).
func TestSuspendLimitIsAnError(t *testing.T) {
	checkNoLeak(t)
	w := newWorld(t, suspend.WithPolicy(suspend.Coop))
	th, release := startBlocked(t, w, "held")
	ps := startPollers(t, w, 1)
	defer ps.stop()
	ctx := context.Background()
	for i := 0; i < threadstate.MaxCount; i++ {
		if err := w.SuspendThread(ctx, th); err != nil {
			t.Fatalf("SuspendThread #%d: %v", i+1, err)
		}
	}
	before := th.Word()
	within(t, "the 256th SuspendThread", func() {
		err := w.SuspendThread(ctx, th)
		if !errors.Is(err, suspend.ErrSuspendLimit) || !strings.Contains(err.Error(), `"held"`) {
			t.Errorf("256th SuspendThread: %v, want ErrSuspendLimit naming the thread", err)
		}
	})
	within(t, "a Stop of a thread at the limit", func() {
		_, err := w.Stop(ctx)
		if !errors.Is(err, suspend.ErrSuspendLimit) {
			t.Errorf("Stop with a thread at the limit: %v, want ErrSuspendLimit", err)
		}
	})
	if got := th.Word(); got != before {
		t.Errorf("refused suspends changed the word from %v to %v", before, got)
	}
	progress := ps.snapshot()[0]
	waitUntil(t, "the poller runs on after the refused Stop", func() bool { return ps.snapshot()[0] > progress })
	within(t, "ResumeThread after the refusals", func() {
		if err := w.ResumeThread(th); err != nil {
			t.Error(err)
		}
	})
	within(t, "Stop and Restart after the refusals", func() {
		if err := stopWorld(t, w).Restart(); err != nil {
			t.Error(err)
		}
	})
	for i := 1; i < threadstate.MaxCount; i++ {
		if err := w.ResumeThread(th); err != nil {
			t.Fatalf("ResumeThread #%d: %v", i, err)
		}
	}
	release()
}

// startBlocked attaches a goroutine that waits inside a blocking region
// until release is called, then leaves the region and detaches.
func startBlocked(t *testing.T, w *suspend.World, name string) (th *suspend.Thread, release func()) {
	t.Helper()
	ready := make(chan *suspend.Thread)
	rel := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach(name)
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		safepoint.EnterSafe(th)
		ready <- th
		<-rel
		safepoint.ExitSafe(th)
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	th = <-ready
	if th == nil {
		t.FailNow()
	}
	return th, func() { close(rel); <-done }
}

// TestDetachHoldingAStopIsAnError: the thread that holds a stop of the
// world (By(self)) cannot detach before Restart: Detach says so instead of
// deadlocking, and works after the restart.
func TestDetachHoldingAStopIsAnError(t *testing.T) {
	checkNoLeak(t)
	w := newWorld(t)
	ps := startPollers(t, w, 1)
	defer ps.stop()
	testutil.OnThreadNoDetach(t, w, "initiator", func(th *suspend.Thread) {
		s, err := w.Stop(context.Background(), suspend.By(th))
		if err != nil {
			t.Error(err)
			return
		}
		withinHere(t, "Detach while holding a stop", func() {
			err := th.Detach()
			if err == nil || !strings.Contains(err.Error(), "Restart") || !strings.Contains(err.Error(), `"initiator"`) {
				t.Errorf("Detach while holding a stop: %v", err)
			}
		})
		if err := s.Restart(); err != nil {
			t.Error(err)
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
	if err := stopWorld(t, w).Restart(); err != nil {
		t.Error(err)
	}
}

// TestZeroWorldFailsAtOnce: a World that NewWorld did not make is refused
// by every call, at once, with a message that says to use NewWorld.
func TestZeroWorldFailsAtOnce(t *testing.T) {
	var w suspend.World
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "NewWorld") {
			t.Errorf("%s on a zero World: %v, want an error that says to use NewWorld", what, err)
		}
	}
	within(t, "Attach on a zero World", func() {
		_, err := w.Attach("x")
		check("Attach", err)
	})
	within(t, "Stop on a zero World", func() {
		_, err := w.Stop(context.Background())
		check("Stop", err)
	})
	within(t, "CheckSignals on a zero World", func() { check("CheckSignals", w.CheckSignals()) })
	within(t, "Dump on a zero World", func() {
		if d := dump(&w); !strings.Contains(d, "NewWorld") {
			t.Errorf("Dump of a zero World: %q", d)
		}
	})
	other := newWorld(t)
	testutil.OnThreadNoDetach(t, other, "stranger", func(th *suspend.Thread) {
		within(t, "SuspendThread on a zero World", func() { check("SuspendThread", w.SuspendThread(context.Background(), th)) })
		within(t, "ResumeThread on a zero World", func() { check("ResumeThread", w.ResumeThread(th)) })
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
}

// TestDetachInsideBlocking: Detach inside a blocking region ends the
// region; the exit that closes it (Blocking's, or an explicit ExitSafe)
// then does nothing, once. Another ExitSafe is still a protocol violation.
func TestDetachInsideBlocking(t *testing.T) {
	checkNoLeak(t)
	w := newWorld(t)
	for _, how := range []string{"Blocking", "EnterSafe"} {
		testutil.OnThreadNoDetach(t, w, how, func(th *suspend.Thread) {
			withinHere(t, "Detach inside "+how, func() {
				if how == "Blocking" {
					safepoint.Blocking(th, func() {
						if err := th.Detach(); err != nil {
							t.Error(err)
						}
					})
				} else {
					safepoint.EnterSafe(th)
					if err := th.Detach(); err != nil {
						t.Error(err)
					}
					safepoint.ExitSafe(th)
				}
			})
			if st := th.Word().State(); st != threadstate.Detached {
				t.Errorf("after Detach inside %s the thread is %v", how, th.Word())
			}
			mustPanicTransition(t, th, threadstate.DoneBlocking, func() { safepoint.ExitSafe(th) })
		})
	}
	if err := stopWorld(t, w).Restart(); err != nil {
		t.Error(err)
	}
}
