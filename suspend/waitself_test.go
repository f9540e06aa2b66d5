package suspend_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// TestRemovedThreadFailsAtOnce: once a stop has removed a thread whose
// goroutine ended without Detach, SuspendThread and ResumeThread of it
// fail at once with ErrDetached (SuspendThread used to post a request and
// wait for a poll that never came, holding the suspend lock, with no end
// under context.Background), and the world stays usable.
func TestRemovedThreadFailsAtOnce(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(200*time.Millisecond))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("policy %v does not run here: %v", p, err)
			}
			kept := quitAttached(t, w, "leaky")
			var ste *suspend.StopTimeoutError
			if _, err := w.Stop(context.Background()); !errors.As(err, &ste) || len(ste.Abandoned) != 1 {
				t.Fatalf("the stop that finds the ended goroutine: %v; want a *StopTimeoutError naming it", err)
			}
			within(t, "SuspendThread of a removed thread", func() {
				err := w.SuspendThread(context.Background(), kept)
				if !errors.Is(err, suspend.ErrDetached) || !strings.Contains(err.Error(), "ended without Detach") {
					t.Errorf("SuspendThread of a removed thread: %v; want ErrDetached saying why", err)
				}
			})
			within(t, "ResumeThread of a removed thread", func() {
				if err := w.ResumeThread(kept); !errors.Is(err, suspend.ErrDetached) {
					t.Errorf("ResumeThread of a removed thread: %v; want ErrDetached", err)
				}
			})
			within(t, "the next stop", func() {
				s, err := w.Stop(context.Background())
				if err != nil {
					t.Fatalf("the stop after: %v", err)
				}
				if err := s.Restart(); err != nil {
					t.Fatal(err)
				}
			})
			runtime.KeepAlive(kept)
		})
	}
}

// TestHoldersCallsFailAtOnce: the goroutine that holds a stop it has not
// restarted cannot wait for the suspend lock (it would wait for itself):
// a second Stop, a SuspendThread, an Attach fail at once with
// ErrWaitsForItself and a message that says to Restart first. Another
// goroutine still waits as before. After the Restart everything works.
func TestHoldersCallsFailAtOnce(t *testing.T) {
	w := newWorld(t, suspend.WithStopTimeout(time.Minute)) // a wait would show as a hang
	ps := startPollers(t, w, 1)
	defer ps.stop()
	s := stopWorld(t, w)
	// withinHere: these calls must come from the holder itself.
	withinHere(t, "the holder's calls", func() {
		_, err := w.Stop(context.Background())
		if !errors.Is(err, suspend.ErrWaitsForItself) || !strings.Contains(err.Error(), "call Restart first") {
			t.Errorf("second Stop by the goroutine holding the stop: %v; want ErrWaitsForItself saying to Restart first", err)
		}
		if err := w.SuspendThread(context.Background(), ps.threads[0]); !errors.Is(err, suspend.ErrWaitsForItself) {
			t.Errorf("SuspendThread by the holder: %v; want ErrWaitsForItself", err)
		}
		if _, err := w.Attach("late"); !errors.Is(err, suspend.ErrWaitsForItself) {
			t.Errorf("Attach by the holder: %v; want ErrWaitsForItself", err)
		}
	})
	within(t, "a Stop by another goroutine", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var ste *suspend.StopTimeoutError
		if _, err := w.Stop(ctx); !errors.As(err, &ste) || errors.Is(err, suspend.ErrWaitsForItself) {
			t.Errorf("Stop by another goroutine during the stop: %v; want it to wait, and time out", err)
		}
	})
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	s = stopWorld(t, w)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}

// TestSuspendOwnThreadFailsAtOnce: SuspendThread of the calling
// goroutine's own thread, without By, used to wait for a poll the caller
// would never make; it fails at once.
func TestSuspendOwnThreadFailsAtOnce(t *testing.T) {
	w := newWorld(t, suspend.WithStopTimeout(time.Minute))
	testutil.OnThreadNoDetach(t, w, "self", func(th *suspend.Thread) {
		withinHere(t, "SuspendThread of the caller's own thread", func() {
			if err := w.SuspendThread(context.Background(), th); !errors.Is(err, suspend.ErrWaitsForItself) {
				t.Errorf("SuspendThread of the caller's own thread: %v; want ErrWaitsForItself", err)
			}
		})
		safepoint.Poll(th)
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
}

// TestStopTimeoutDefault: a world made without WithStopTimeout bounds its
// stops by DefaultStopTimeout; WithStopTimeout(0) asks for no bound, and a
// negative timeout is refused.
func TestStopTimeoutDefault(t *testing.T) {
	w := newWorld(t)
	if got := w.StopTimeout(); got != suspend.DefaultStopTimeout {
		t.Errorf("default stop timeout %v, want %v", got, suspend.DefaultStopTimeout)
	}
	none := newWorld(t, suspend.WithStopTimeout(0))
	if got := none.StopTimeout(); got != 0 {
		t.Errorf("WithStopTimeout(0): stop timeout %v, want none", got)
	}
	if w, err := suspend.NewWorld(suspend.WithStopTimeout(-time.Second)); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("NewWorld with a negative stop timeout: %v, %v; want an error", w, err)
	}
}

// TestConcurrentRestart: two goroutines restart one stop at once; one
// succeeds, the other is told it was restarted already, and under -race
// the flag is no data race.
func TestConcurrentRestart(t *testing.T) {
	w := newWorld(t)
	ps := startPollers(t, w, 2)
	defer ps.stop()
	for range 50 {
		s := stopWorld(t, w)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Restart()
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("two concurrent Restarts returned %v and %v; want exactly one error", errs[0], errs[1])
		}
	}
}

// TestAttachedAndHeld: Attached follows the registry (true while attached,
// false after Detach and after the world removed an ended goroutine's
// thread), and Held is true exactly while a stop or a SuspendThread holds
// the thread.
func TestAttachedAndHeld(t *testing.T) {
	w := newWorld(t, suspend.WithStopTimeout(200*time.Millisecond))
	ps := startPollers(t, w, 1)
	th := ps.threads[0]
	if !th.Attached() || th.Held() {
		t.Fatalf("a running poller: Attached %v, Held %v", th.Attached(), th.Held())
	}
	s := stopWorld(t, w)
	if !th.Held() {
		t.Errorf("a stopped poller is not Held (%v)", th.Word())
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := w.SuspendThread(context.Background(), th); err != nil {
		t.Fatal(err)
	}
	if !th.Held() {
		t.Errorf("a suspended poller is not Held (%v)", th.Word())
	}
	if err := w.ResumeThread(th); err != nil {
		t.Fatal(err)
	}
	ps.stop()
	if th.Attached() || th.Held() {
		t.Errorf("a detached poller: Attached %v, Held %v", th.Attached(), th.Held())
	}
	kept := quitAttached(t, w, "quitter")
	if !kept.Attached() {
		t.Error("the quitter is not Attached before any stop found it ended")
	}
	if _, err := w.Stop(context.Background()); err == nil {
		t.Fatal("the stop waiting for the quitter succeeded")
	}
	if kept.Attached() {
		t.Error("the quitter is still Attached after the stop removed it")
	}
	runtime.KeepAlive(kept)
}
