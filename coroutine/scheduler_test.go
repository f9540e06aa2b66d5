package coroutine_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

type sched = coroutine.Task

func run(t *testing.T, s *coroutine.Scheduler, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestSchedulerOrder: priority first, then submission order; a yield goes
// to the tail of its priority. One runner keeps that order across all
// coroutines.
func TestSchedulerOrder(t *testing.T) {
	s := coroutine.NewScheduler(coroutine.WithRunners(1))
	var order []string
	body := func(name string) func(*sched) any {
		return func(su *sched) any {
			order = append(order, name+"1")
			su.Yield(struct{}{})
			order = append(order, name+"2")
			return name
		}
	}
	a := s.Submit(body("A"), coroutine.WithPriority(1))
	s.Submit(body("B"))
	s.Submit(body("C"))
	run(t, s, 10*time.Second)
	if got := strings.Join(order, " "); got != "B1 C1 B2 C2 A1 A2" {
		t.Errorf("order %q", got)
	}
	if st, ok := s.Result(a); !ok || st.Status != coroutine.Complete || st.Result != "A" {
		t.Errorf("result of A: %+v %v", st, ok)
	}
}

// TestSchedulerDelayAndSleep: a delayed coroutine waits in the timer
// heap and a sleeping one in Syscall, while another keeps running.
func TestSchedulerDelayAndSleep(t *testing.T) {
	// One runner: the third coroutine runs after the first two started
	// their waits (with two it may finish on the other runner first).
	s := coroutine.NewScheduler(coroutine.WithRunners(1))
	var sleeping, delayed atomic.Bool
	var runsMeanwhile atomic.Int64
	var seen []coroutine.Status
	var mu sync.Mutex
	spy := coroutine.Listener{OnStateChanged: func(name string, from, to coroutine.Status) {
		if strings.HasSuffix(name, "sleeper") {
			mu.Lock()
			seen = append(seen, to)
			mu.Unlock()
		}
	}}
	start := time.Now()
	s.Submit(func(su *sched) any {
		sleeping.Store(true)
		su.Sleep(60 * time.Millisecond)
		sleeping.Store(false)
		return nil
	}, coroutine.WithName("sleeper"), coroutine.WithListener(spy))
	s.Submit(func(su *sched) any {
		delayed.Store(true)
		su.Delay(struct{}{}, 60*time.Millisecond)
		delayed.Store(false)
		return nil
	})
	s.Submit(func(su *sched) any {
		for i := 0; i < 20; i++ {
			if sleeping.Load() && delayed.Load() {
				runsMeanwhile.Add(1)
			}
			su.Yield(struct{}{})
		}
		return nil
	})
	run(t, s, 10*time.Second)
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("Run returned after %v, before the sleep and the delay ended", took)
	}
	if runsMeanwhile.Load() == 0 {
		t.Error("nothing ran while one coroutine slept and another was delayed")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []coroutine.Status{coroutine.Running, coroutine.Syscall, coroutine.Ready, coroutine.Running, coroutine.Complete}
	if len(seen) != len(want) {
		t.Fatalf("the sleeper went through %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("the sleeper went through %v, want %v", seen, want)
		}
	}
}

// TestSchedulerFailuresAndListeners: a panicking coroutine fails, a
// panicking listener is ignored, the others complete.
func TestSchedulerFailuresAndListeners(t *testing.T) {
	bad := coroutine.Listener{OnComplete: func(string) { panic("listener bug") }, OnError: func(string) { panic("listener bug") }}
	s := coroutine.NewScheduler(coroutine.WithListener(bad))
	boom := s.Submit(func(su *sched) any { panic("boom") })
	ok := s.Submit(func(su *sched) any { su.Yield(struct{}{}); return 7 })
	run(t, s, 10*time.Second)
	if st, _ := s.Result(boom); st.Status != coroutine.Failed || !strings.Contains(st.Err.Error(), "boom") {
		t.Errorf("panicking coroutine: %+v", st)
	}
	if st, _ := s.Result(ok); st.Status != coroutine.Complete || st.Result != 7 {
		t.Errorf("other coroutine: %+v", st)
	}
}

// TestSchedulerCancel: Cancel before Run (it never runs) and of a running
// coroutine (it ends at its next Poll).
func TestSchedulerCancel(t *testing.T) {
	s := coroutine.NewScheduler()
	ran := false
	early := s.Submit(func(su *sched) any { ran = true; return nil })
	if !s.Cancel(early) {
		t.Fatal("Cancel of a submitted coroutine returned false")
	}
	var spinning atomic.Bool
	var spinnerID atomic.Uint64
	spinnerID.Store(s.Submit(func(su *sched) any {
		for {
			spinning.Store(true)
			su.Poll()
		}
	}))
	go func() {
		for !spinning.Load() {
			time.Sleep(time.Millisecond)
		}
		s.Cancel(spinnerID.Load())
	}()
	run(t, s, 10*time.Second)
	if st, _ := s.Result(early); ran || st.Status != coroutine.Cancelled {
		t.Errorf("cancelled before Run: ran %v, %+v", ran, st)
	}
	if st, _ := s.Result(spinnerID.Load()); st.Status != coroutine.Cancelled {
		t.Errorf("cancelled while spinning: %+v", st)
	}
	if s.Cancel(12345) {
		t.Error("Cancel of an unknown id returned true")
	}
}

// TestCancelADelayedCoroutine: Cancel ends a coroutine that waits in a
// Delay at once, not when its delay is due: Run returns with it
// Cancelled and its deferred calls run.
func TestCancelADelayedCoroutine(t *testing.T) {
	s := coroutine.NewScheduler(coroutine.WithName("delays"))
	delaying := make(chan struct{})
	var unwound atomic.Bool
	id := s.Submit(func(su *sched) any {
		defer unwound.Store(true)
		close(delaying)
		su.Delay(struct{}{}, time.Hour)
		return nil
	})
	go func() {
		<-delaying
		// Before or after Delay has switched out: both must work.
		if !s.Cancel(id) {
			t.Error("Cancel found nothing")
		}
	}()
	run(t, s, 10*time.Second)
	if st, _ := s.Result(id); st.Status != coroutine.Cancelled || !unwound.Load() {
		t.Errorf("a delayed coroutine, cancelled: %+v, unwound %v", st, unwound.Load())
	}
}

// TestSchedulerContext: when ctx ends, Run closes what is left and says
// why.
func TestSchedulerContext(t *testing.T) {
	s := coroutine.NewScheduler()
	id := s.Submit(func(su *sched) any { su.Delay(struct{}{}, time.Hour); return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	if st, _ := s.Result(id); st.Status != coroutine.Cancelled {
		t.Errorf("left-over coroutine: %+v", st)
	}
}

// flagScenario is open-coroutine's three-coroutine example: coroutine 1
// loops until flag 1 clears, coroutine 2 until flag 2 clears and then
// clears flag 1, coroutine 3 clears flag 2. With one scheduler it can
// only finish if the loops let the others run: by a hooked sleep, or by
// preemption at Poll.
func flagScenario(t *testing.T, s *coroutine.Scheduler, wait func(su *sched)) {
	var flag1, flag2 atomic.Bool
	flag1.Store(true)
	flag2.Store(true)
	s.Submit(func(su *sched) any {
		for flag1.Load() {
			wait(su)
		}
		return nil
	})
	s.Submit(func(su *sched) any {
		for flag2.Load() {
			wait(su)
		}
		flag1.Store(false)
		return nil
	})
	s.Submit(func(su *sched) any { flag2.Store(false); return nil })
	run(t, s, 3*time.Second)
	if flag1.Load() {
		t.Error("flag 1 is still set")
	}
}

func TestFlagScenarioWithSleep(t *testing.T) {
	flagScenario(t, coroutine.NewScheduler(), func(su *sched) { su.Sleep(10 * time.Millisecond) })
}

func TestFlagScenarioBusyLoopsPreempted(t *testing.T) {
	m := monitor.New(monitor.WithSlice(10*time.Millisecond), monitor.WithTick(time.Millisecond))
	defer m.Stop()
	flagScenario(t, coroutine.NewScheduler(coroutine.WithMonitor(m)), func(su *sched) { su.Poll() })
}

// TestSyscallIsNotPreempted: a coroutine in a blocking call is never
// asked to suspend, however long the call takes.
func TestSyscallIsNotPreempted(t *testing.T) {
	m := monitor.New(monitor.WithSlice(20*time.Millisecond), monitor.WithTick(time.Millisecond))
	defer m.Stop()
	s := coroutine.NewScheduler(coroutine.WithMonitor(m))
	var polls, preempted atomic.Int64
	id := s.Submit(func(su *sched) any {
		su.Blocking(func() { time.Sleep(100 * time.Millisecond) })
		// Had the monitor asked while it slept, this Poll would suspend.
		polls.Add(1)
		su.Poll()
		return nil
	}, coroutine.WithListener(coroutine.Listener{OnSuspend: func(string) { preempted.Add(1) }}))
	run(t, s, 10*time.Second)
	if st, _ := s.Result(id); st.Status != coroutine.Complete || preempted.Load() != 0 || polls.Load() != 1 {
		t.Errorf("%+v, preempted %d times, %d polls", st, preempted.Load(), polls.Load())
	}
}

// TestOverrunIsReported: a loop without a safepoint cannot be preempted;
// the monitor samples it and names the function it spins in, also with
// one P, where the coroutine's thread sleeps in Go's scheduler whenever
// the monitor runs: a sample of the runtime is never the position.
func TestOverrunIsReported(t *testing.T) {
	reports := make(chan monitor.Overrun, 4)
	m := monitor.New(monitor.WithSlice(5*time.Millisecond), monitor.WithTick(time.Millisecond),
		monitor.WithOverrun(10*time.Millisecond, func(o monitor.Overrun) {
			select {
			case reports <- o:
			default:
			}
		}))
	defer m.Stop()
	s := coroutine.NewScheduler(coroutine.WithMonitor(m))
	var stop atomic.Bool
	s.Submit(func(su *sched) any {
		// Bounded by a count, not a clock: a sample once landed in the
		// loop's time.Now (CI, the coopcheck build), which is Go code
		// but not the test's.
		for i := 0; !stop.Load() && i < 3000; i++ {
			spinSink += spinWithoutPoll(1 << 22) // milliseconds per call: a sample lands in it, not in the race runtime
		}
		return nil
	}, coroutine.WithName("spinner"))
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	var o monitor.Overrun
	select {
	case o = <-reports:
	case err := <-done:
		// Sampling needs the signal handler, which the monitor installs
		// when Run starts it.
		if errors.Is(err, arch.ErrUnsupported) {
			t.Skipf("overrun sampling cannot run here: %v", err)
		}
		t.Fatalf("Run returned before an overrun was reported: %v", err)
	case <-time.After(3 * time.Second):
		t.Fatal("no overrun reported within 3s")
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Log(o)
	if !strings.HasSuffix(o.Name, "spinner") || o.Running < 15*time.Millisecond {
		t.Errorf("report %+v", o)
	}
	for _, f := range o.Missed {
		if f.Place() == arch.InProgram {
			t.Errorf("a sample in the program was set aside: %v", f)
		}
	}
	if p := o.Where.Place(); !o.Known() || p != arch.InProgram {
		t.Fatalf("placed in %v: %v", p, o)
	}
	if !strings.Contains(o.Where.Function+" "+o.Where.InlinedInto, "coroutine_test.") {
		t.Errorf("sampled at %v, not in the spinning test code", o.Where)
	}
}

// TestOverrunOfNewCoroutineOnAttachedThread: a coroutine of New (no
// scheduler hands the monitor its thread's record) is sampled on the
// thread that resumes it, when that thread is registered with the signal
// handler: here a goroutine attached to a hybrid world, whose Attach
// registers it. The report names the loop and that thread.
func TestOverrunOfNewCoroutineOnAttachedThread(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Hybrid))
	reports := make(chan monitor.Overrun, 1)
	m := monitor.New(monitor.WithSlice(5*time.Millisecond), monitor.WithTick(time.Millisecond),
		monitor.WithOverrun(10*time.Millisecond, func(o monitor.Overrun) {
			select {
			case reports <- o:
			default:
			}
		}))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	var stop atomic.Bool
	c := coroutine.New(func(_ *coroutine.Suspender[struct{}, struct{}], _ struct{}) struct{} {
		for i := 0; !stop.Load() && i < 3000; i++ { // a count, not a clock: see TestOverrunIsReported
			spinSink += spinWithoutPoll(1 << 22)
		}
		return struct{}{}
	}, coroutine.WithMonitor(m), coroutine.WithName("loner"))
	type resumed struct {
		tid int
		err error
	}
	done := make(chan resumed, 1)
	go func() {
		th, err := w.Attach("resumer")
		if err != nil {
			done <- resumed{err: err}
			return
		}
		_, err = c.Resume(struct{}{})
		done <- resumed{th.Tid(), errors.Join(err, th.Detach())}
	}()
	var o monitor.Overrun
	select {
	case o = <-reports:
	case <-time.After(3 * time.Second):
		t.Error("no overrun reported within 3s")
	}
	stop.Store(true)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if t.Failed() {
		return
	}
	t.Log(o)
	if !strings.HasSuffix(o.Name, "loner") || o.Tid != r.tid {
		t.Errorf("report %+v, want coroutine \"loner\" on the resumer's thread %d", o, r.tid)
	}
	if o.Known() && !strings.Contains(o.Where.Function+" "+o.Where.InlinedInto, "coroutine_test.") {
		t.Errorf("sampled at %v, not in the spinning test code", o.Where)
	}
}

var spinSink int

//go:noinline
func spinWithoutPoll(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ x
	}
	return x
}

// TestSchedulerInAStoppedWorld: a scheduler attached to a world stops
// with it: the coroutine that runs parks at its Poll, nothing runs until
// the restart, and everything finishes afterwards.
func TestSchedulerInAStoppedWorld(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithName("vm"))
	var progress atomic.Int64
	var quit atomic.Bool
	for i := 0; i < 3; i++ {
		s.Submit(func(su *sched) any {
			for !quit.Load() {
				progress.Add(1)
				su.Poll()
				if progress.Load()%64 == 0 {
					su.Yield(struct{}{})
				}
			}
			return nil
		})
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	waitFor(t, func() bool { return progress.Load() > 100 })
	for i := 0; i < 50; i++ {
		st, err := w.Stop(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// One thread per runner, each parked at a poll or idle in its
		// blocking region; never one per coroutine.
		info := st.Threads()
		parked := 0
		for _, th := range info {
			if !strings.HasPrefix(th.Name, "vm") || !th.Parked && !th.InSafeRegion {
				t.Errorf("stop %d: thread %+v is neither a parked nor an idle runner", i, th)
			}
			if th.Word.State() == threadstate.SelfSuspended {
				parked++
			}
		}
		// A runner appears once it has attached, which may come after
		// the first stops.
		if len(info) == 0 || len(info) > runtime.GOMAXPROCS(0) || parked == 0 {
			if err := st.Restart(); err != nil {
				t.Error(err)
			}
			t.Fatalf("stop %d: %d threads, %d parked at a poll: %+v; want one per runner (at most %d), at least one parked", i, len(info), parked, info, runtime.GOMAXPROCS(0))
		}
		frozen := progress.Load()
		time.Sleep(100 * time.Microsecond)
		if progress.Load() != frozen {
			t.Fatalf("stop %d: a coroutine ran while the world was stopped", i)
		}
		if err := st.Restart(); err != nil {
			t.Error(err)
		}
	}
	quit.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
