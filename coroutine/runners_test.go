package coroutine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// meetAll makes each of n coroutines wait, running (no switch out), until
// all n run at once, or until the deadline; it reports whether they met.
// On a single runner they cannot: the first would wait alone.
func meetAll(n int, deadline time.Duration) (body func(*sched) any, met func() bool) {
	var running, together atomic.Int64
	end := time.Now().Add(deadline)
	body = func(*sched) any {
		running.Add(1)
		for running.Load() < int64(n) && time.Now().Before(end) {
			testenv.Preemptible()
		}
		if running.Load() >= int64(n) {
			together.Add(1)
		}
		return nil
	}
	return body, func() bool { return together.Load() == int64(n) }
}

// TestIdleRunnerSteals: all coroutines are admitted by whichever runner
// looks first; the others steal, so that with R runners, R coroutines
// that wait for each other while running do meet. Also with priorities:
// the high-priority ones are taken first, the low-priority one waits.
func TestIdleRunnerSteals(t *testing.T) {
	for _, runners := range []int{2, 3} {
		t.Run(fmt.Sprint("R=", runners), func(t *testing.T) {
			s := coroutine.NewScheduler(coroutine.WithRunners(runners))
			body, met := meetAll(runners, 10*time.Second)
			var lowStartedEarly atomic.Bool
			var high atomic.Int64
			s.Submit(func(su *sched) any { // low priority: runs only once a runner is free
				lowStartedEarly.Store(high.Load() < int64(runners))
				return nil
			}, coroutine.WithPriority(9))
			for range runners {
				s.Submit(func(su *sched) any { high.Add(1); return body(su) })
			}
			run(t, s, 20*time.Second)
			if !met() {
				t.Fatalf("the %d coroutines never ran at once on %d runners: no runner stole", runners, runners)
			}
			if lowStartedEarly.Load() {
				t.Error("the low-priority coroutine ran before every high-priority one had started")
			}
		})
	}
}

// TestHandoffOfAStuckRunner: with one runner, a coroutine that spins
// without polling would hold every other coroutine back; after the
// hand-off time a new runner takes over the queue, and the others finish
// while it still spins. The stuck runner leaves once its coroutine
// returns.
func TestHandoffOfAStuckRunner(t *testing.T) {
	s := coroutine.NewScheduler(coroutine.WithRunners(1), coroutine.WithHandoff(20*time.Millisecond))
	var othersDone atomic.Int64
	const others = 10
	var seen atomic.Int64
	s.Submit(func(*sched) any { // no Poll, no yield
		for end := time.Now().Add(10 * time.Second); othersDone.Load() < others && time.Now().Before(end); {
			testenv.Preemptible()
		}
		seen.Store(othersDone.Load())
		return nil
	}, coroutine.WithName("stuck"), coroutine.WithPriority(-1))
	for range others {
		s.Submit(func(su *sched) any { su.Yield(struct{}{}); othersDone.Add(1); return nil })
	}
	run(t, s, 20*time.Second)
	if n := seen.Load(); n != others {
		t.Fatalf("only %d of %d other coroutines finished while one spun without polling: no hand-off", n, others)
	}
}

// TestSuspendAndResume: Suspend takes a coroutine out (a running one at
// its next Poll) and returns once it does not run; nothing it does
// changes until Resume; Resume puts it back. A second Resume, and a
// Suspend of an unknown id, are errors; a coroutine in a blocking call is
// suspended at once; Cancel ends a suspended one.
func TestSuspendAndResume(t *testing.T) {
	s := coroutine.NewScheduler()
	var steps atomic.Int64
	var quit atomic.Bool
	looper := s.Submit(func(su *sched) any {
		for !quit.Load() {
			steps.Add(1)
			su.Poll()
			if steps.Load()%128 == 0 {
				su.Yield(struct{}{})
			}
		}
		return "done"
	})
	inCall, release := make(chan struct{}), make(chan struct{})
	blocker := s.Submit(func(su *sched) any {
		su.Blocking(func() { close(inCall); <-release })
		return nil
	})
	cancelled := s.Submit(func(su *sched) any {
		for !quit.Load() {
			su.Yield(struct{}{})
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	waitFor(t, func() bool { return steps.Load() > 1000 })
	ctx := context.Background()
	for round := range 20 {
		if err := s.Suspend(ctx, looper); err != nil {
			t.Fatal(err)
		}
		frozen := steps.Load()
		time.Sleep(time.Millisecond)
		if got := steps.Load(); got != frozen {
			t.Fatalf("round %d: the suspended coroutine took %d steps", round, got-frozen)
		}
		if err := s.Resume(looper); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return steps.Load() > frozen })
	}
	if err := s.Resume(looper); !errors.Is(err, coroutine.ErrNotSuspended) {
		t.Errorf("Resume of a running coroutine: %v; want ErrNotSuspended", err)
	}
	if err := s.Suspend(ctx, 999); err == nil {
		t.Error("Suspend of an unknown id succeeded")
	}
	<-inCall
	if err := s.Suspend(ctx, blocker); err != nil {
		t.Fatalf("Suspend of a coroutine in a blocking call: %v", err)
	}
	close(release) // it comes back, and is set aside
	if err := s.Suspend(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	if !s.Cancel(cancelled) {
		t.Fatal("Cancel of a suspended coroutine found nothing")
	}
	if err := s.Resume(blocker); err != nil {
		t.Fatal(err)
	}
	quit.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Result(cancelled); st.Status != coroutine.Cancelled {
		t.Errorf("the cancelled suspended coroutine: %+v", st)
	}
	if st, _ := s.Result(blocker); st.Status != coroutine.Complete {
		t.Errorf("the blocker, suspended and resumed: %+v", st)
	}
}

// TestSuspendRacesPreemption: Suspend and Resume of coroutines that the
// monitor preempts, on several runners, under a stop storm of the world:
// every Suspend returns with the coroutine frozen, and everything ends.
func TestSuspendRacesPreemption(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(500*time.Microsecond))
	defer m.Stop()
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithMonitor(m), coroutine.WithName("racer"))
	const n = 8
	steps := make([]atomic.Int64, n)
	var quit atomic.Bool
	ids := make([]uint64, n)
	for i := range n {
		ids[i] = s.Submit(func(su *sched) any {
			for !quit.Load() {
				steps[i].Add(1)
				su.Poll()
			}
			return nil
		})
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	storm := suspendtest.StartStorm(w, suspendtest.StormConfig{})
	// At least 200 rounds, 300 ms and 10 stops of the world: on a loaded
	// machine the storm's stops come slower, so the rounds go on until
	// they have raced enough stops (within a bound that fails the test
	// rather than hanging it).
	end, giveUp := time.Now().Add(300*time.Millisecond), time.Now().Add(2*time.Minute)
	for round := 0; round < 200 || time.Now().Before(end) || w.Stats().Stops < 10; round++ {
		if time.Now().After(giveUp) {
			t.Fatalf("after %d rounds in 2 minutes the storm has made %d stops", round, w.Stats().Stops)
		}
		id := round % n
		if err := s.Suspend(context.Background(), ids[id]); err != nil {
			t.Fatal(err)
		}
		frozen := steps[id].Load()
		for range 10 {
			testenv.Preemptible()
		}
		if got := steps[id].Load(); got != frozen {
			t.Fatalf("round %d: suspended coroutine %d took %d steps", round, id, got-frozen)
		}
		if err := s.Resume(ids[id]); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := storm.End()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stops < 10 {
		t.Errorf("only %d stops of the world during the suspends", rep.Stops)
	}
	quit.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSuspendRacesYields: Suspend, Resume and Cancel from three
// goroutines at coroutines that switch out after every step, on two
// runners, so that each request lands at every point of a resume (before
// it, while the coroutine runs, as it is filed): a Suspend that returns
// leaves the coroutine frozen, a Resume puts it back, a cancelled one
// ends Cancelled, and the others all complete (none is lost between a
// queue and the set-aside ones).
func TestSuspendRacesYields(t *testing.T) {
	const n, target = 16, 200
	s := coroutine.NewScheduler(coroutine.WithRunners(2), coroutine.WithName("yields"))
	steps := make([]atomic.Int64, n)
	ids := make([]uint64, n)
	for i := range n {
		ids[i] = s.Submit(func(su *sched) any {
			for i == n-1 || steps[i].Load() < target { // the last runs until cancelled
				steps[i].Add(1)
				su.Yield(struct{}{})
			}
			return nil
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	errs := make(chan error, 2)
	pauser := func(first int) {
		finished := map[int]bool{}
		for round := 0; len(finished) < n/2-first; round++ { // pauser 1 leaves the last (cancelled) one alone
			id := first + 2*(round%(n/2))
			if finished[id] || id == n-1 {
				continue
			}
			if err := s.Suspend(ctx, ids[id]); err != nil {
				if !strings.Contains(err.Error(), "no unfinished coroutine has that id") {
					errs <- err
					return
				}
				finished[id] = true
				continue
			}
			frozen := steps[id].Load()
			testenv.Preemptible()
			if got := steps[id].Load(); got != frozen {
				errs <- fmt.Errorf("round %d: suspended coroutine %d took %d steps", round, id, got-frozen)
				return
			}
			if err := s.Resume(ids[id]); err != nil {
				if !errors.Is(err, coroutine.ErrNotSuspended) || steps[id].Load() < target {
					errs <- err
					return
				}
				finished[id] = true // it finished while Suspend waited for it
			}
		}
		errs <- nil
	}
	go pauser(0)
	go pauser(1)
	waitFor(t, func() bool { return steps[n-1].Load() > target })
	if !s.Cancel(ids[n-1]) {
		t.Fatal("Cancel found nothing")
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		st, ok := s.Result(ids[i])
		want := coroutine.Complete
		if i == n-1 {
			want = coroutine.Cancelled
		}
		if !ok || st.Status != want {
			t.Errorf("coroutine %d: %+v, %v; want %v", i, st, ok, want)
		}
	}
}

// TestStormOverAPool: a world stops a scheduler of thousands of
// coroutines by stopping its runners only: each stop holds at most
// WithRunners threads, and no coroutine moves while the world is stopped.
func TestStormOverAPool(t *testing.T) {
	const runners, guests = 2, 2000
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithRunners(runners), coroutine.WithName("pool"))
	var steps atomic.Int64
	var quit atomic.Bool
	for range guests {
		s.Submit(func(su *sched) any {
			for !quit.Load() {
				for range 64 {
					steps.Add(1)
				}
				su.Poll()
				su.Yield(struct{}{})
			}
			return nil
		})
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	waitFor(t, func() bool { return steps.Load() > 10*guests })
	var frozen int64
	st := suspendtest.StartStorm(w, suspendtest.StormConfig{
		Check: func(stopped *suspend.Stopped) error {
			if n := len(stopped.Threads()); n > runners {
				return fmt.Errorf("the stop holds %d threads, more than the %d runners", n, runners)
			}
			frozen = steps.Load()
			for range 100 {
				testenv.Preemptible()
			}
			if got := steps.Load(); got != frozen {
				return fmt.Errorf("coroutines took %d steps while the world was stopped", got-frozen)
			}
			return nil
		},
	})
	time.Sleep(300 * time.Millisecond)
	// A loaded machine makes fewer stops in the time: go on until there
	// are 10 (or the storm has failed).
	waitFor(t, func() bool {
		select {
		case <-st.Done():
			return true
		default:
			return w.Stats().Stops >= 10
		}
	})
	rep, err := st.End()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stops < 10 {
		t.Errorf("only %d stops", rep.Stops)
	}
	t.Logf("storm over %d coroutines on %d runners: %v", guests, runners, rep)
	quit.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

}

// TestCancelClosesAsTheClosingRunner: when Run's context ends, a runner
// closes coroutines that last ran on another runner; the body unwinds as
// the closing runner's thread. (It unwound as the thread it last ran as,
// another runner's, busy meanwhile: that runner's next blocking region
// was refused as called from another goroutine.)
func TestCancelClosesAsTheClosingRunner(t *testing.T) {
	for range 20 {
		w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
		s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithRunners(2), coroutine.WithName("closers"))
		var steps atomic.Int64
		for range 50 {
			s.Submit(func(su *sched) any {
				defer func() { steps.Add(1) }() // unwinds as some runner's thread
				for {
					steps.Add(1)
					su.Poll()
					su.Yield(struct{}{})
				}
			})
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		waitFor(t, func() bool { return steps.Load() > 500 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v, want context.Canceled", err)
		}
	}
}
