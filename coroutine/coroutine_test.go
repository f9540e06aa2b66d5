package coroutine_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestBasic is open-coroutine's basic scenario: resume 1 → Suspended 2,
// resume 3 → Complete 4.
func TestBasic(t *testing.T) {
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		if p != 1 {
			t.Errorf("first parameter %d", p)
		}
		p = s.Yield(2)
		if p != 3 {
			t.Errorf("second parameter %d", p)
		}
		return 4
	}, coroutine.WithName("basic"))
	if c.Status() != coroutine.Ready || c.Name() != "basic" {
		t.Fatalf("new coroutine: %v %q", c.Status(), c.Name())
	}
	st, err := c.Resume(1)
	if err != nil || st.Status != coroutine.Suspended || st.Yield != 2 || !st.WakeAt.IsZero() {
		t.Fatalf("first resume: %+v, %v", st, err)
	}
	st, err = c.Resume(3)
	if err != nil || st.Status != coroutine.Complete || st.Result != 4 {
		t.Fatalf("second resume: %+v, %v", st, err)
	}
	// Resuming a finished coroutine returns its final state again.
	st, err = c.Resume(5)
	if err != nil || st.Status != coroutine.Complete || st.Result != 4 {
		t.Fatalf("resume after completion: %+v, %v", st, err)
	}
}

// TestPanicFails: a panic in the body makes the coroutine Failed with an
// error that carries the value and the coroutine's stack.
func TestPanicFails(t *testing.T) {
	boom := errors.New("boom")
	c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
		panicHere(boom)
		return 0
	}, coroutine.WithName("panicky"))
	st, err := c.Resume(struct{}{})
	if err != nil || st.Status != coroutine.Failed {
		t.Fatalf("%+v, %v", st, err)
	}
	var pe *coroutine.PanicError
	if !errors.As(st.Err, &pe) || !errors.Is(st.Err, boom) || pe.Name != "panicky" {
		t.Fatalf("error %v", st.Err)
	}
	if !strings.Contains(string(pe.Stack), "panicHere") {
		t.Errorf("the stack does not show where it panicked:\n%s", pe.Stack)
	}
}

func panicHere(err error) { panic(err) }

// TestDelay: a delayed coroutine cannot be resumed before it is due; the
// refusal names both statuses and changes nothing.
func TestDelay(t *testing.T) {
	c := coroutine.New(func(s *coroutine.Suspender[struct{}, string], _ struct{}) int {
		s.Delay("wait", 30*time.Millisecond)
		return 1
	}, coroutine.WithName("sleepy"))
	before := time.Now()
	st, err := c.Resume(struct{}{})
	if err != nil || st.Status != coroutine.Suspended || st.Yield != "wait" || st.WakeAt.Before(before.Add(30*time.Millisecond)) {
		t.Fatalf("%+v, %v", st, err)
	}
	_, err = c.Resume(struct{}{})
	var te *coroutine.StatusError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), `"sleepy": unexpected Suspended->Running`) {
		t.Fatalf("early resume: %v", err)
	}
	if c.Status() != coroutine.Suspended {
		t.Fatalf("a refused resume changed the status to %v", c.Status())
	}
	time.Sleep(time.Until(st.WakeAt))
	if st, err := c.Resume(struct{}{}); err != nil || st.Status != coroutine.Complete {
		t.Fatalf("resume when due: %+v, %v", st, err)
	}
}

// TestListeners: listeners see every change in order; one that panics is
// reported (logged with its stack, and counted), and the coroutine goes
// on.
func TestListeners(t *testing.T) {
	var logged strings.Builder
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	var seen []string
	good := coroutine.Listener{OnStateChanged: func(name string, from, to coroutine.Status) {
		seen = append(seen, from.String()+">"+to.String())
	}}
	completes := 0
	bad := coroutine.Listener{
		OnSuspend:  func(string) { panic("listener bug") },
		OnComplete: func(string) { completes++ },
	}
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		s.Yield(1)
		s.Sleep(time.Millisecond)
		return 2
	}, coroutine.WithListener(good), coroutine.WithListener(bad), coroutine.WithLogger(logger))
	if _, err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	st, err := c.Resume(0)
	if err != nil || st.Status != coroutine.Complete {
		t.Fatalf("%+v, %v", st, err)
	}
	want := "Ready>Running Running>Suspended Suspended>Running Running>Syscall Syscall>Running Running>Complete"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("listener saw %q, want %q", got, want)
	}
	if c.ListenerPanics() != 1 || completes != 1 {
		t.Errorf("listener panics %d, completes %d", c.ListenerPanics(), completes)
	}
	for _, want := range []string{"level=ERROR", "a listener panicked", "panic=\"listener bug\"", "TestListeners.func"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logged.String())
		}
	}
}

// TestCancel: Cancel ends the coroutine as Cancelled and runs its
// deferred calls.
func TestCancel(t *testing.T) {
	deferred := false
	c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
		defer func() { deferred = true }()
		s.Cancel()
		t.Error("Cancel returned")
		return 1
	})
	st, err := c.Resume(struct{}{})
	if err != nil || st.Status != coroutine.Cancelled || !deferred {
		t.Fatalf("%+v, %v, deferred %v", st, err, deferred)
	}
}

// TestCloseFreesTheGoroutine: closing suspended coroutines unwinds their
// bodies and leaves no goroutine behind.
func TestCloseFreesTheGoroutine(t *testing.T) {
	var unwound atomic.Int64
	var cs []*coroutine.Coroutine[int, int, int]
	for i := 0; i < 100; i++ {
		c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
			defer unwound.Add(1)
			for {
				p = s.Yield(p + 1)
			}
		})
		if _, err := c.Resume(i); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	// Other tests' goroutines may still be ending: compare with the
	// count while the 100 are suspended.
	suspended := runtime.NumGoroutine()
	for _, c := range cs {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if c.Status() != coroutine.Cancelled {
			t.Fatalf("closed coroutine is %v", c.Status())
		}
		if st, err := c.Resume(0); err != nil || st.Status != coroutine.Cancelled {
			t.Fatalf("resume after Close: %+v, %v", st, err)
		}
	}
	if unwound.Load() != 100 {
		t.Errorf("%d bodies unwound", unwound.Load())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > suspended-100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > suspended-100 {
		t.Errorf("%d goroutines after closing 100 coroutines, %d before", n, suspended)
	}
	// A Ready coroutine closes too, without ever running.
	ran := false
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int { ran = true; return 0 })
	if err := c.Close(); err != nil || ran || c.Status() != coroutine.Cancelled {
		t.Errorf("closing a Ready coroutine: %v, ran %v, %v", err, ran, c.Status())
	}
}

// TestMisuseIsRefused: resuming or closing a coroutine from inside its
// own body is refused with an error naming both statuses.
func TestMisuseIsRefused(t *testing.T) {
	var self *coroutine.Coroutine[int, int, int]
	var resumeErr, closeErr error
	self = coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		_, resumeErr = self.Resume(0)
		closeErr = self.Close()
		return 1
	})
	if st, err := self.Resume(0); err != nil || st.Status != coroutine.Complete {
		t.Fatalf("%+v, %v", st, err)
	}
	if resumeErr == nil || !strings.Contains(resumeErr.Error(), "unexpected Running->Running") {
		t.Errorf("resume from inside: %v", resumeErr)
	}
	if closeErr == nil || !strings.Contains(closeErr.Error(), "unexpected Running->Cancelled") {
		t.Errorf("close from inside: %v", closeErr)
	}
}

// TestPreemptionAtPoll: a coroutine spinning on Poll comes back Suspended
// with a zero WakeAt each time a preemption is requested, again and
// again.
func TestPreemptionAtPoll(t *testing.T) {
	var spins atomic.Int64
	c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
		for {
			spins.Add(1)
			s.Poll()
		}
	})
	defer func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}()
	for i := 0; i < 20; i++ {
		timer := time.AfterFunc(2*time.Millisecond, c.RequestPreemption)
		done := make(chan struct{})
		var st coroutine.Outcome[struct{}, int]
		var err error
		go func() { st, err = c.Resume(struct{}{}); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("round %d: the spinning coroutine was not preempted within 3s", i)
		}
		timer.Stop()
		if err != nil || st.Status != coroutine.Suspended || !st.WakeAt.IsZero() {
			t.Fatalf("round %d: %+v, %v", i, st, err)
		}
	}
	if spins.Load() < 20 {
		t.Errorf("only %d spins", spins.Load())
	}
}

// TestStopTheWorldStopsTheRunningCoroutine: a coroutine bound to a thread
// parks at its Poll when the world stops, makes no progress until the
// restart, and the world counts the thread as stopped.
func TestStopTheWorldStopsTheRunningCoroutine(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	var progress atomic.Int64
	var quit atomic.Bool
	ready := make(chan *suspend.Thread)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		th, err := w.Attach("coroutine-thread")
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		ready <- th
		c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
			for !quit.Load() {
				progress.Add(1)
				s.Poll()
			}
			return 0
		}, coroutine.WithThread(th))
		if st, err := c.Resume(struct{}{}); err != nil || st.Status != coroutine.Complete {
			t.Errorf("%+v, %v", st, err)
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	if <-ready == nil {
		t.FailNow()
	}
	for i := 0; i < 50; i++ {
		s, err := w.Stop(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info := s.Threads()[0]; info.Word.State() != threadstate.SelfSuspended {
			t.Fatalf("stop %d: the coroutine's thread is %v", i, info.Word)
		}
		frozen := progress.Load()
		time.Sleep(100 * time.Microsecond)
		if progress.Load() != frozen {
			t.Fatalf("stop %d: the coroutine ran while the world was stopped", i)
		}
		if err := s.Restart(); err != nil {
			t.Error(err)
		}
	}
	quit.Store(true)
	wg.Wait()
}

// TestMonitorPreemptsAPollingCoroutine: under a monitor, a coroutine that
// spins on Poll comes back Suspended with a zero WakeAt within 3s, again
// and again.
func TestMonitorPreemptsAPollingCoroutine(t *testing.T) {
	m := monitor.New(monitor.WithSlice(5*time.Millisecond), monitor.WithTick(time.Millisecond))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
		for {
			s.Poll()
		}
	}, coroutine.WithMonitor(m))
	defer func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}()
	for i := 0; i < 10; i++ {
		start := time.Now()
		st, err := c.Resume(struct{}{})
		if err != nil || st.Status != coroutine.Suspended || !st.WakeAt.IsZero() {
			t.Fatalf("round %d: %+v, %v", i, st, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("round %d: preempted after %v", i, took)
		}
	}
}

// TestPollEndsItsSliceWithoutATick: a coroutine that polls ends its slice
// by itself when the monitor's slice is over, with no tick to ask it (the
// tick here is an hour: with every P busy, ticks come only when Go
// preempts a goroutine). Once the monitor is stopped, no slice ends.
func TestPollEndsItsSliceWithoutATick(t *testing.T) {
	m := monitor.New(monitor.WithSlice(2*time.Millisecond), monitor.WithTick(time.Hour))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	limit := 10 * time.Second
	c := coroutine.New(func(s *coroutine.Suspender[struct{}, int], _ struct{}) int {
		for {
			start := time.Now()
			for time.Since(start) < limit {
				s.Poll()
			}
			s.Yield(1) // the body's own limit: no slice ended
		}
	}, coroutine.WithMonitor(m))
	defer func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}()
	for i := range 5 {
		st, err := c.Resume(struct{}{})
		if err != nil || st.Status != coroutine.Suspended || st.Yield != 0 {
			t.Fatalf("round %d: %+v, %v; want a preemption (Suspended, zero Yield)", i, st, err)
		}
	}
	m.Stop()
	limit = 50 * time.Millisecond // 25 slices
	if st, err := c.Resume(struct{}{}); err != nil || st.Yield != 1 {
		t.Fatalf("after the monitor stopped: %+v, %v; want the body's own yield", st, err)
	}
}
