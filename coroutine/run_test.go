package coroutine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/internal/testchild"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// The tests here are about how Run ends and what it leaves behind: every
// one of them runs the scheduler again afterwards, to show that it is
// still usable.

// stepsAfterCancelBound is how many coroutine steps Run may still take
// once its context is done. "About one slice" is a time; a count is what a
// test can hold on a shared machine. A step (an add and an inlined poll)
// takes 10-15 ns since Yield inlines, so a coroutine that runs out its
// 2 ms slice after the cancel takes up to ~200,000 steps (CI saw 15,000
// against the old bound of 10,000). The bound is five such slices, and far
// below what a Run that ignores its context does in the seconds the test
// waits (hundreds of millions).
const stepsAfterCancelBound = 1_000_000

// runAgain shows that s is usable: a new coroutine runs to completion.
func runAgain(t *testing.T, s *coroutine.Scheduler) {
	t.Helper()
	id := s.Submit(func(su *sched) any { su.Yield(struct{}{}); return "again" })
	run(t, s, 10*time.Second)
	if st, ok := s.Result(id); !ok || st.Status != coroutine.Complete || st.Result != "again" {
		t.Fatalf("the scheduler is not usable after that: %+v, finished %v", st, ok)
	}
}

// cancelWhileBusy starts s, lets its coroutines make progress (steps
// counts them, quit makes them return) until busy says so, cancels Run's context and checks
// that Run returns ctx's error after at most stepsAfterCancelBound steps.
func cancelWhileBusy(t *testing.T, s *coroutine.Scheduler, ids []uint64, steps *atomic.Int64, quit *atomic.Bool, busy func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, busy)
	atCancel := steps.Load()
	start := time.Now()
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		after := steps.Load() - atCancel
		quit.Store(true) // let the leaked Run end
		t.Fatalf("Run did not return within 10s of the cancel: %d steps after it and counting", after)
	}
	latency, after := time.Since(start), steps.Load()-atCancel
	t.Logf("Run returned %v after the cancel, %d steps after it", latency, after)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if after > stepsAfterCancelBound {
		t.Errorf("%d steps after the cancel, want at most %d", after, stepsAfterCancelBound)
	}
	for _, id := range ids {
		if st, ok := s.Result(id); !ok || st.Status != coroutine.Cancelled {
			t.Errorf("coroutine %d after the cancel: %+v, finished %v", id, st, ok)
		}
	}
	runAgain(t, s)
}

// TestRunHonoursContextWhileYielding: coroutines that yield to each other
// forever never leave the scheduler idle; Run must still see its context
// end.
func TestRunHonoursContextWhileYielding(t *testing.T) {
	s := coroutine.NewScheduler(coroutine.WithName("yielders"))
	var steps atomic.Int64
	var quit atomic.Bool
	var ids []uint64
	for i := 0; i < 3; i++ {
		ids = append(ids, s.Submit(func(su *sched) any {
			for !quit.Load() {
				steps.Add(1)
				su.Yield(struct{}{})
			}
			return nil
		}))
	}
	cancelWhileBusy(t, s, ids, &steps, &quit, func() bool { return steps.Load() > 1000 })
}

// TestRunHonoursContextWhilePreempted: coroutines that spin on Poll are
// preempted by the monitor and go round the ready queue; Run must see its
// context end within about a slice, the running coroutine included.
func TestRunHonoursContextWhilePreempted(t *testing.T) {
	m := monitor.New(monitor.WithSlice(2*time.Millisecond), monitor.WithTick(time.Millisecond))
	defer m.Stop()
	var preemptions atomic.Int64
	s := coroutine.NewScheduler(coroutine.WithName("spinners"), coroutine.WithMonitor(m),
		coroutine.WithListener(coroutine.Listener{OnSuspend: func(string) { preemptions.Add(1) }}))
	var steps atomic.Int64
	var quit atomic.Bool
	var ids []uint64
	for i := 0; i < 2; i++ {
		ids = append(ids, s.Submit(func(su *sched) any {
			for !quit.Load() {
				steps.Add(1)
				su.Poll()
			}
			return nil
		}))
	}
	// Cancel once they have been preempted and gone round the queue a
	// few times, as a time-sliced runtime does all day.
	cancelWhileBusy(t, s, ids, &steps, &quit, func() bool { return preemptions.Load() >= 5 })
}

// TestCloseWaitsInsideABlockingRegion: when Run's context ends while a
// coroutine's blocking call is out, Run waits for the call before it
// closes that coroutine (its body must not unwind while the call runs).
// The wait is inside a blocking region of the scheduler's thread, so a
// stop of the world meanwhile succeeds; the coroutine then ends
// Cancelled, not stuck in Syscall.
func TestCloseWaitsInsideABlockingRegion(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	// One runner: the test looks for the one thread that waits.
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithName("closer"), coroutine.WithRunners(1))
	inCall := make(chan struct{})
	release := make(chan struct{})
	var callDone, blockerUnwound atomic.Bool
	blocker := s.Submit(func(su *sched) any {
		defer func() { blockerUnwound.Store(callDone.Load()) }()
		su.Blocking(func() {
			close(inCall)
			<-release
			callDone.Store(true)
		})
		t.Error("the blocker was resumed after Run's context ended")
		return nil
	})
	// The delayed coroutine is closed before the blocked one is waited
	// for: its deferred call says the wait is about to start.
	// It must have started before the cancel: a coroutine closed before
	// its first resume runs none of its body, deferred calls included
	// (CI under -race once cancelled first and waited here forever).
	delaying, closing := make(chan struct{}), make(chan struct{})
	delayed := s.Submit(func(su *sched) any {
		defer close(closing)
		close(delaying)
		su.Delay(struct{}{}, time.Hour)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-inCall
	<-delaying
	cancel()
	<-closing

	// closing says the wait is about to start, not that it has: a stop
	// that comes first (an emulator makes the gap long) finds the
	// scheduler's thread at a safepoint. Stop again until it is in its
	// region, which it then never leaves before release.
	var info []suspend.ThreadInfo
	for deadline := time.Now().Add(10 * time.Second); ; {
		stopCtx, stopCancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := w.Stop(stopCtx)
		stopCancel()
		if err != nil {
			close(release)
			t.Fatalf("a stop while Run waits for a blocking call to close: %v (Run: %v)", err, <-done)
		}
		info = st.Threads()
		if err := st.Restart(); err != nil {
			t.Fatal(err)
		}
		if len(info) == 1 && info[0].InSafeRegion || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if len(info) != 1 || info[0].Name != "closer" || !info[0].InSafeRegion {
		t.Errorf("the scheduler's thread while stopped: %+v", info)
	}
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if st, _ := s.Result(blocker); st.Status != coroutine.Cancelled || !blockerUnwound.Load() {
		t.Errorf("the blocked coroutine: %+v; unwound after its call returned: %v", st, blockerUnwound.Load())
	}
	if st, _ := s.Result(delayed); st.Status != coroutine.Cancelled {
		t.Errorf("the delayed coroutine: %+v", st)
	}
	runAgain(t, s)
}

// TestBlockingCallPanicFails: a panic inside a scheduled blocking call
// makes that coroutine Failed, as a panic in its body would, with the
// call's stack; the others go on. It once crashed the process from the
// goroutine that ran the call, so the test first runs it in a child
// process, where a crash cannot take the test binary with it, and then
// here.
func TestBlockingCallPanicFails(t *testing.T) {
	const child = "COOPSUSPEND_COROUTINE_CHILD"
	if os.Getenv(child) == "" {
		exe, err := os.Executable()
		if err != nil {
			t.Skipf("cannot find the test binary to run the child process: %v", err)
		}
		// Under an emulator the kernel may not run the binary itself:
		// start it as testchild does.
		argv := append(strings.Fields(os.Getenv(testchild.ExecEnv)), exe, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), child+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("in a child process: %v\n%s", err, out)
		}
	}
	s := coroutine.NewScheduler(coroutine.WithName("panicky"))
	var deferred atomic.Bool
	bad := s.Submit(func(su *sched) any {
		defer deferred.Store(true)
		su.Blocking(panicInBlockingCall)
		t.Error("Blocking returned after its call panicked")
		return nil
	})
	good := s.Submit(func(su *sched) any { su.Sleep(time.Millisecond); return 1 })
	run(t, s, 10*time.Second)
	st, _ := s.Result(bad)
	var pe *coroutine.PanicError
	if st.Status != coroutine.Failed || !errors.As(st.Err, &pe) || pe.Value != "in the call" || !deferred.Load() {
		t.Fatalf("the coroutine whose call panicked: %+v, deferred calls ran: %v", st, deferred.Load())
	}
	if !strings.Contains(string(pe.Stack), "panicInBlockingCall") {
		t.Errorf("the stack does not show where the call panicked:\n%s", pe.Stack)
	}
	if st, _ := s.Result(good); st.Status != coroutine.Complete {
		t.Errorf("the other coroutine: %+v", st)
	}
	runAgain(t, s)
}

func panicInBlockingCall() { panic("in the call") }

// TestSubmitWithThreadIsRefused: a scheduler's coroutines run as the
// scheduler's own thread (WithWorld) or as none. A coroutine submitted
// WithThread of another thread would poll a thread it does not run on; it
// fails without running, with an error that names both threads, and
// the others run.
func TestSubmitWithThreadIsRefused(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	other := make(chan *suspend.Thread)
	detach, detached := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(detached)
		th, err := w.Attach("other")
		if err != nil {
			t.Error(err)
			close(other)
			return
		}
		// Stay in a blocking region, so that nothing waits for this
		// thread to poll; hand the thread over only once inside it, so
		// the check at the end sees the state this goroutine left it in.
		safepoint.Blocking(th, func() { other <- th; <-detach })
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	th := <-other
	if th == nil {
		t.FailNow()
	}
	defer func() { close(detach); <-detached }()
	for _, tc := range []struct {
		name string
		s    *coroutine.Scheduler
	}{
		{"attached", coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithName("vm"))},
		{"unattached", coroutine.NewScheduler(coroutine.WithName("vm"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			foreign := tc.s.Submit(func(su *sched) any { ran = true; return nil },
				coroutine.WithThread(th), coroutine.WithName("foreign"))
			fine := tc.s.Submit(func(su *sched) any { su.Poll(); return 1 })
			run(t, tc.s, 10*time.Second)
			st, _ := tc.s.Result(foreign)
			if ran || st.Status != coroutine.Failed || st.Err == nil ||
				!errors.Is(st.Err, coroutine.ErrForeignThread) ||
				!strings.Contains(st.Err.Error(), `"foreign"`) || !strings.Contains(st.Err.Error(), `"other"`) {
				t.Fatalf("the coroutine WithThread of another thread: ran %v, %+v", ran, st)
			}
			t.Log(st.Err)
			if st, _ := tc.s.Result(fine); st.Status != coroutine.Complete {
				t.Errorf("the other coroutine: %+v", st)
			}
			runAgain(t, tc.s)
		})
	}
	if got := th.Word().State(); got != threadstate.Blocking {
		t.Errorf("the other thread was touched: %v", th.Word())
	}
}

// TestRunOnAnAttachedGoroutine: Run WithWorld attaches its goroutine; on
// a goroutine that is already attached, Attach refuses and Run returns
// that error, with nothing half-done: no coroutine ran or was lost, the
// host thread is untouched, and the scheduler runs them on another
// goroutine afterwards. In every policy that runs here.
func TestRunOnAnAttachedGoroutine(t *testing.T) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid} {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("%v does not run here: %v", p, err)
			}
			// The host is attached (and, under hybrid, locked) on a
			// goroutine of its own, so that the test's goroutine stays
			// as it was.
			done := make(chan struct{})
			go func() {
				defer close(done)
				runOnAttached(t, w)
			}()
			<-done
		})
	}
}

func runOnAttached(t *testing.T, w *suspend.World) {
	host, err := w.Attach("host")
	if err != nil {
		t.Error(err)
		return
	}
	defer func() {
		if err := host.Detach(); err != nil {
			t.Error(err)
		}
	}()
	if probe, err := w.Attach("probe"); !errors.Is(err, suspend.ErrAttached) {
		if probe != nil {
			if err := probe.Detach(); err != nil {
				t.Error(err)
			}
		}
		t.Errorf("a second Attach: %v, want ErrAttached", err)
		return
	}
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithName("vm"))
	ran := false
	id := s.Submit(func(su *sched) any { ran = true; return 1 })
	err = s.Run(context.Background())
	if err == nil || ran {
		t.Errorf("Run on an attached goroutine: %v, a coroutine ran: %v", err, ran)
		return
	}
	t.Log(err)
	if _, ok := s.Result(id); ok {
		t.Error("the coroutine finished although Run refused to start")
	}
	if got := host.Word().State(); got != threadstate.Running {
		t.Errorf("the host thread is %v", host.Word())
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	if err := <-done; err != nil {
		t.Error(err)
		return
	}
	if st, ok := s.Result(id); !ok || st.Status != coroutine.Complete || !ran {
		t.Errorf("after Run on a fresh goroutine: %+v, finished %v", st, ok)
	}
}

// TestCancelWhileHandingOff: Run's context ends while runners are being
// handed off (a hand-off time far below the slice retires a runner on
// nearly every turn): no coroutine is left behind in the queue of a
// runner that has left; every one ends Cancelled, and the scheduler runs
// again afterwards.
func TestCancelWhileHandingOff(t *testing.T) {
	for round := range 20 {
		m := monitor.New(monitor.WithSlice(2*time.Millisecond), monitor.WithTick(time.Millisecond))
		var preemptions atomic.Int64
		s := coroutine.NewScheduler(coroutine.WithName("handing-off"), coroutine.WithMonitor(m),
			coroutine.WithHandoff(200*time.Microsecond),
			coroutine.WithListener(coroutine.Listener{OnSuspend: func(string) { preemptions.Add(1) }}))
		var steps atomic.Int64
		var quit atomic.Bool
		var ids []uint64
		for range 4 {
			ids = append(ids, s.Submit(func(su *sched) any {
				for !quit.Load() {
					steps.Add(1)
					su.Poll()
				}
				return nil
			}))
		}
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			cancelWhileBusy(t, s, ids, &steps, &quit, func() bool { return preemptions.Load() >= int64(2+round%5) })
		})
		m.Stop()
		if t.Failed() {
			return
		}
	}
}
