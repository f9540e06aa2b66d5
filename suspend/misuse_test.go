package suspend_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// mustPanicTransition runs fn, which must panic with a
// *threadstate.TransitionError that names the thread, the event and the
// word, and leave the word as it was.
func mustPanicTransition(t *testing.T, th *suspend.Thread, event threadstate.Event, fn func()) {
	t.Helper()
	before := th.Word()
	defer func() {
		t.Helper()
		r := recover()
		te, ok := r.(*threadstate.TransitionError)
		if !ok {
			t.Fatalf("panicked with %v (%T), want a *threadstate.TransitionError", r, r)
		}
		if te.Thread != th.Name() || te.Event != event || te.Word != before {
			t.Fatalf("error %+v, want thread %q, event %v, word %v", te, th.Name(), event, before)
		}
		if !strings.Contains(te.Error(), th.Name()) {
			t.Fatalf("message %q does not name the thread", te.Error())
		}
		if th.Word() != before {
			t.Fatalf("the refused event changed the word from %v to %v", before, th.Word())
		}
	}()
	fn()
}

// mustPanicCall is mustPanicTransition for a call refused for how it was
// used (a TransitionError with Call set), not for an event.
func mustPanicCall(t *testing.T, th *suspend.Thread, call string, fn func()) {
	t.Helper()
	before := th.Word()
	defer func() {
		t.Helper()
		te, ok := recover().(*threadstate.TransitionError)
		switch {
		case !ok:
			t.Fatalf("%s did not panic with a *threadstate.TransitionError", call)
		case te.Thread != th.Name() || te.Call != call || te.Word != before:
			t.Fatalf("error %+v, want thread %q, call %s, word %v", te, th.Name(), call, before)
		case th.Word() != before:
			t.Fatalf("the refused %s changed the word from %v to %v", call, before, th.Word())
		}
	}()
	fn()
}

func TestThreadSideMisusePanics(t *testing.T) {
	checkNoLeak(t)
	w := newWorld(t)
	testutil.OnThreadNoDetach(t, w, "misuser", func(th *suspend.Thread) {
		safepoint.BeginNoSafepoints(th)
		mustPanicTransition(t, th, threadstate.StatePoll, func() { safepoint.Poll(th) })
		mustPanicTransition(t, th, threadstate.DoBlocking, func() { safepoint.EnterSafe(th) })
		mustPanicTransition(t, th, threadstate.BeginNoSafepoints, func() { safepoint.BeginNoSafepoints(th) })
		safepoint.EndNoSafepoints(th)
		mustPanicTransition(t, th, threadstate.EndNoSafepoints, func() { safepoint.EndNoSafepoints(th) })

		mustPanicTransition(t, th, threadstate.DoneBlocking, func() { safepoint.ExitSafe(th) })
		safepoint.EnterSafe(th)
		mustPanicTransition(t, th, threadstate.DoBlocking, func() { safepoint.EnterSafe(th) })
		mustPanicTransition(t, th, threadstate.StatePoll, func() { safepoint.Poll(th) })
		safepoint.ExitSafe(th)

		mustPanicCall(t, th, "ExitUnsafe", func() { safepoint.ExitUnsafe(th, safepoint.Cookie{}) })

		// After all that the thread still works and can be stopped.
		safepoint.Poll(th)
		if err := th.Detach(); err != nil {
			t.Fatal(err)
		}
		mustPanicTransition(t, th, threadstate.StatePoll, func() { safepoint.Poll(th) })
		if err := th.Detach(); !errors.Is(err, suspend.ErrDetached) || !strings.Contains(err.Error(), `"misuser"`) {
			t.Fatalf("second Detach: %v", err)
		}
	})
}

func TestInitiatorMisuseReturnsErrors(t *testing.T) {
	checkNoLeak(t)
	w := newWorld(t)
	other := newWorld(t)
	ready, release, done := make(chan *suspend.Thread), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("worker")
		if err != nil {
			t.Error(err)
			ready <- nil
			return
		}
		ready <- th
		safepoint.Blocking(th, func() { <-release })
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	th := <-ready
	if th == nil {
		t.FailNow()
	}
	// The checks below of the worker's word assume it sits in its region:
	// a stop that found it still running before EnterSafe parked it first,
	// and right after the restart it was RUNNING on its way back in (seen
	// once in CI and once under qemu-riscv64).
	waitBlocking(t, th)
	ctx := context.Background()

	if err := w.ResumeThread(th); err == nil || !strings.Contains(err.Error(), `"worker"`) {
		t.Errorf("ResumeThread of a running thread: %v", err)
	}
	if err := other.SuspendThread(ctx, th); err == nil || !strings.Contains(err.Error(), "another world") {
		t.Errorf("SuspendThread through another world: %v", err)
	}
	if err := w.SuspendThread(ctx, nil); err == nil {
		t.Error("SuspendThread(nil) succeeded")
	}
	if _, err := other.Stop(ctx, suspend.By(th)); err == nil {
		t.Error("Stop By a thread of another world succeeded")
	}

	s := stopWorld(t, w)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err == nil || !strings.Contains(err.Error(), "already restarted") {
		t.Errorf("second Restart: %v", err)
	}
	if wd := th.Word(); wd != threadstate.MakeWord(threadstate.Blocking, 0, false) {
		t.Errorf("a second Restart changed the thread: %v", wd)
	}

	// Nesting: two SuspendThreads need two ResumeThreads; a stop in
	// between takes and gives back its own count.
	for i := 0; i < 2; i++ {
		if err := w.SuspendThread(ctx, th); err != nil {
			t.Fatal(err)
		}
	}
	s = stopWorld(t, w)
	if wd := s.Threads()[0].Word; wd.Count() != 3 {
		t.Errorf("stopped with two SuspendThreads: %v", wd)
	}
	if err := s.Restart(); err != nil {
		t.Error(err)
	}
	for i := 0; i < 2; i++ {
		if err := w.ResumeThread(th); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.ResumeThread(th); err == nil {
		t.Error("a third ResumeThread succeeded")
	}
	close(release)
	<-done
	if err := w.ResumeThread(th); err == nil || !strings.Contains(err.Error(), "DETACHED") {
		t.Errorf("ResumeThread of a detached thread: %v", err)
	}
	if err := w.SuspendThread(ctx, th); !errors.Is(err, suspend.ErrDetached) || !strings.Contains(err.Error(), `"worker"`) {
		t.Errorf("SuspendThread of a detached thread: %v", err)
	}
	if _, err := w.Stop(ctx, suspend.By(th)); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("Stop By a detached thread: %v", err)
	}
	// The world is still usable.
	if err := stopWorld(t, w).Restart(); err != nil {
		t.Error(err)
	}
}

func TestSelfSuspendIsAnError(t *testing.T) {
	w := newWorld(t)
	testutil.OnThreadNoDetach(t, w, "self", func(th *suspend.Thread) {
		if err := w.SuspendThread(context.Background(), th, suspend.By(th)); err == nil {
			t.Error("a thread suspended itself")
		}
		safepoint.BeginNoSafepoints(th)
		if _, err := w.Stop(context.Background(), suspend.By(th)); err == nil ||
			!strings.Contains(err.Error(), "no-safepoints") {
			t.Errorf("Stop from a no-safepoints region: %v", err)
		}
		safepoint.EndNoSafepoints(th)
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
}

func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want suspend.Policy
	}{{"coop", suspend.Coop}, {" Hybrid ", suspend.Hybrid}, {"PREEMPTIVE", suspend.Preemptive}} {
		if p, err := suspend.ParsePolicy(tc.in); err != nil || p != tc.want {
			t.Errorf("ParsePolicy(%q) = %v, %v", tc.in, p, err)
		}
	}
	_, err := suspend.ParsePolicy("full-coop")
	if err == nil || !strings.Contains(err.Error(), "coop, hybrid, preemptive") {
		t.Errorf("ParsePolicy of an unknown name: %v", err)
	}

	t.Setenv(suspend.PolicyEnv, "hybrid")
	if p := newWorld(t).Policy(); p != suspend.Hybrid {
		t.Errorf("policy from the environment: %v", p)
	}
	if p := newWorld(t, suspend.WithPolicy(suspend.Coop)).Policy(); p != suspend.Coop {
		t.Errorf("WithPolicy does not override the environment: %v", p)
	}
	t.Setenv(suspend.PolicyEnv, "sometimes")
	w, err := suspend.NewWorld()
	if err == nil || w != nil || !strings.Contains(err.Error(), suspend.PolicyEnv) || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("NewWorld with a bad policy variable: %v, %v", w, err)
	}
	if p := newWorld(t, suspend.WithPolicy(suspend.Coop)).Policy(); p != suspend.Coop {
		t.Errorf("WithPolicy does not override a bad policy variable: %v", p)
	}
	t.Setenv(suspend.PolicyEnv, "")
	if w, err := suspend.NewWorld(suspend.WithPolicy(9)); err == nil || w != nil || !strings.Contains(err.Error(), "invalid policy") {
		t.Errorf("NewWorld with an invalid policy: %v, %v", w, err)
	}
	// Signal 10 (SIGUSR1 on Linux; the name does not exist on every GOOS
	// this file builds for) is one the handler refuses.
	if w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Hybrid), suspend.WithSignal(syscall.Signal(10))); err == nil || w != nil {
		t.Errorf("NewWorld with a signal the handler cannot use: %v, %v", w, err)
	}
}

// TestWaitingForTheLockSaysWhoHoldsIt: an initiator that gives up
// waiting for the suspend lock says who holds it and since when, with
// the dump; the world is usable afterwards.
func TestWaitingForTheLockSaysWhoHoldsIt(t *testing.T) {
	w := newWorld(t)
	ps := startPollers(t, w, 2)
	defer ps.stop()
	s := stopWorld(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var err error
	within(t, "a Stop by another goroutine", func() { _, err = w.Stop(ctx) })
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	var ste *suspend.StopTimeoutError
	if !errors.As(err, &ste) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "waiting for another initiator (Stop by an unattached goroutine, for ") ||
		!strings.Contains(ste.Dump, `thread "poller-0"`) {
		t.Fatalf("second Stop: %v", err)
	}
	if err := stopWorld(t, w).Restart(); err != nil {
		t.Error(err)
	}
}

// TestCoopAttachTwiceIsAnError: a coop world does not lock threads, and
// still refuses a goroutine that attaches twice, to it or another world
// (Attach knows its goroutine's number, internal/goid).
func TestCoopAttachTwiceIsAnError(t *testing.T) {
	w1, w2 := newWorld(t, suspend.WithPolicy(suspend.Coop)), newWorld(t, suspend.WithPolicy(suspend.Coop))
	testutil.OnThreadNoDetach(t, w1, "first", func(th *suspend.Thread) {
		for _, w := range []*suspend.World{w1, w2} {
			if again, err := w.Attach("second"); !errors.Is(err, suspend.ErrAttached) {
				t.Errorf("second Attach: %v (thread %v); want ErrAttached", err, again != nil)
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
