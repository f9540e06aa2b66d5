package coroutine_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// withThreadOrNot runs body as a subtest without a thread, and with a
// thread of a coop world attached on the subtest's goroutine.
func withThreadOrNot(t *testing.T, body func(t *testing.T, opts ...coroutine.Option)) {
	t.Run("no thread", func(t *testing.T) { body(t) })
	t.Run("WithThread", func(t *testing.T) {
		w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
		th, err := w.Attach("resumer")
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := th.Detach(); err != nil {
				t.Error(err)
			}
		}()
		body(t, coroutine.WithThread(th))
	})
}

// TestRecoveredBlockingPanicGoesOnRunning: a panic in an in-place
// Suspender.Blocking that the body recovers leaves the coroutine Running,
// as if the body had panicked itself, and inside its monitor slice: it
// polls, yields and completes. (It used to stay in Syscall, and its Poll
// failed as "inside its blocking call".)
func TestRecoveredBlockingPanicGoesOnRunning(t *testing.T) {
	withThreadOrNot(t, func(t *testing.T, opts ...coroutine.Option) {
		m := monitor.New(monitor.WithSlice(time.Hour))
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		defer m.Stop()
		var inSlice int
		c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
			func() {
				defer func() { _ = recover() }()
				s.Blocking(func() { panic("x") })
			}()
			inSlice = m.Running()
			s.Poll()
			s.Yield(1)
			return 2
		}, append(opts, coroutine.WithMonitor(m))...)
		st, err := c.Resume(0)
		if err != nil || st.Status != coroutine.Suspended || st.Yield != 1 {
			t.Fatalf("Resume: %+v, %v; want Suspended with 1 after the recovered panic", st, err)
		}
		if inSlice != 1 {
			t.Errorf("after the recovered panic the monitor had %d coroutines in a slice, want 1", inSlice)
		}
		if st, err := c.Resume(0); err != nil || st.Status != coroutine.Complete || st.Result != 2 {
			t.Fatalf("second Resume: %+v, %v; want Complete with 2", st, err)
		}
		if n := m.Running(); n != 0 {
			t.Errorf("monitor: %d coroutines in a slice after the end, want 0", n)
		}
	})
}

// TestGoexitFailsTheCoroutine: runtime.Goexit in a body (t.FailNow in a
// test) ends that coroutine as Failed with ErrGoexit, and the resumer goes
// on: it used to be passed on to the resumer, whose Resume never returned.
// The body's own deferred calls run.
func TestGoexitFailsTheCoroutine(t *testing.T) {
	withThreadOrNot(t, func(t *testing.T, opts ...coroutine.Option) {
		m := monitor.New()
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		defer m.Stop()
		deferred := false
		c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
			defer func() { deferred = true }()
			s.Yield(1)
			runtime.Goexit()
			return 2
		}, append(opts, coroutine.WithMonitor(m))...)
		if st, err := c.Resume(0); err != nil || st.Status != coroutine.Suspended {
			t.Fatalf("first Resume: %+v, %v", st, err)
		}
		// A Goexit passed on to this goroutine ends the test here, which
		// the testing package reports as a failure.
		st, err := c.Resume(0)
		if err != nil || st.Status != coroutine.Failed || !errors.Is(st.Err, coroutine.ErrGoexit) {
			t.Fatalf("Resume: %+v, %v; want Failed with ErrGoexit", st, err)
		}
		if !strings.Contains(st.Err.Error(), c.Name()) {
			t.Errorf("error %q does not name the coroutine", st.Err)
		}
		if !deferred {
			t.Error("the body's deferred call did not run")
		}
		if n := m.Running(); n != 0 {
			t.Errorf("monitor: %d coroutines in a slice after the Goexit, want 0", n)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close of the failed coroutine: %v", err)
		}
	})
}

// TestGoexitInSchedulerLeavesTheOthersRunning: a scheduled coroutine that
// calls runtime.Goexit fails alone; Run returns and the other coroutines
// finish, their deferred calls run.
func TestGoexitInSchedulerLeavesTheOthersRunning(t *testing.T) {
	s := coroutine.NewScheduler()
	var finished atomic.Int64
	for i := range 3 {
		s.Submit(func(su *sched) any {
			defer finished.Add(1)
			su.Yield(struct{}{})
			if i == 1 {
				runtime.Goexit()
			}
			su.Yield(struct{}{})
			return i
		})
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after a coroutine called runtime.Goexit")
	}
	if finished.Load() != 3 {
		t.Errorf("%d coroutines ran their deferred calls, want 3", finished.Load())
	}
	if st, ok := s.Result(2); !ok || st.Status != coroutine.Failed || !errors.Is(st.Err, coroutine.ErrGoexit) {
		t.Errorf("the Goexit coroutine's result %+v, %v; want Failed with ErrGoexit", st, ok)
	}
	for _, id := range []uint64{1, 3} {
		if st, ok := s.Result(id); !ok || st.Status != coroutine.Complete {
			t.Errorf("coroutine %d: %+v, %v; want Complete", id, st, ok)
		}
	}
}

// TestResultsAreKeptUntilRead: a scheduler keeps a finished coroutine's
// result until Result or Join reads it once, and at most its result
// limit of unread ones, dropping the oldest: one that runs for days
// does not grow without bound (it kept every result forever).
func TestResultsAreKeptUntilRead(t *testing.T) {
	// One runner: the coroutines finish in submission order.
	s := coroutine.NewScheduler(coroutine.WithResultLimit(10), coroutine.WithRunners(1))
	const n = 100
	for i := range n {
		s.Submit(func(*sched) any { return i })
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for id := uint64(1); id <= n; id++ {
		st, ok := s.Result(id)
		if !ok {
			continue
		}
		kept++
		if id <= n-10 || st.Result != int(id-1) {
			t.Errorf("result of coroutine %d kept: %+v; want only the last 10", id, st)
		}
		if _, again := s.Result(id); again {
			t.Errorf("the result of coroutine %d was read twice", id)
		}
	}
	if kept != 10 {
		t.Errorf("%d results kept, want the limit of 10", kept)
	}
	if _, err := s.Join(context.Background(), n); !errors.Is(err, coroutine.ErrNoResult) {
		t.Errorf("Join of a result already read: %v; want ErrNoResult", err)
	}
	if err := coroutine.NewScheduler(coroutine.WithResultLimit(-1)).Run(context.Background()); err == nil {
		t.Error("a negative result limit was accepted")
	}
}

// TestJoin: Join waits for a coroutine to finish, from any goroutine,
// and returns its result; a Join whose context ends first leaves the
// result for a later one; an unknown id is an error at once.
func TestJoin(t *testing.T) {
	s := coroutine.NewScheduler()
	release := make(chan struct{})
	id := s.Submit(func(su *sched) any {
		for {
			select {
			case <-release:
				return "joined"
			default:
				su.Yield(struct{}{})
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Join(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join before the coroutine finished, with a deadline: %v; want the deadline", err)
	}
	joined := make(chan coroutine.Outcome[struct{}, any], 2)
	for range 2 {
		go func() {
			st, err := s.Join(context.Background(), id)
			if err != nil {
				t.Error(err)
			}
			joined <- st
		}()
	}
	for waitingJoins() < 2 { // both Joins waiting, so that both must be given the result
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 2 {
		if st := <-joined; st.Status != coroutine.Complete || st.Result != "joined" {
			t.Errorf("Join: %+v; want Complete with \"joined\"", st)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(context.Background(), 999); !errors.Is(err, coroutine.ErrNoResult) {
		t.Errorf("Join of an id never submitted: %v; want ErrNoResult", err)
	}
}

// waitingJoins counts the goroutines blocked in Scheduler.Join's select,
// where a Join waits once it has registered (one still on its way there,
// before the scheduler's lock, would miss a result delivered meanwhile).
func waitingJoins() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "[select") && strings.Contains(g, "coroutine.(*Scheduler).Join(") {
			n++
		}
	}
	return n
}
