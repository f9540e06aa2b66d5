package suspendtest_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// guest attaches a goroutine that counts and polls until quit is closed;
// the returned channel delivers its thread, then closes when it detached.
func guest(w *suspend.World, name string, steps *atomic.Int64, quit <-chan struct{}) (*suspend.Thread, <-chan struct{}) {
	ready := make(chan *suspend.Thread)
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach(name)
		if err != nil {
			panic(err)
		}
		defer func() {
			if err := th.Detach(); err != nil {
				panic(err)
			}
		}()
		ready <- th
		for {
			select {
			case <-quit:
				return
			default:
			}
			safepoint.Poll(th)
			steps.Add(1)
		}
	}()
	return <-ready, done
}

// A stop storm over a guest that counts between polls: while the world
// is stopped, the count must not move.
func ExampleStartStorm() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeWorld(w)
	var steps atomic.Int64
	quit := make(chan struct{})
	_, done := guest(w, "counter", &steps, quit)

	restarts := make(chan struct{}, 1)
	storm := suspendtest.StartStorm(w, suspendtest.StormConfig{
		Check: func(*suspend.Stopped) error {
			before := steps.Load()
			time.Sleep(100 * time.Microsecond)
			if after := steps.Load(); after != before {
				return fmt.Errorf("the guest counted from %d to %d while stopped", before, after)
			}
			return nil
		},
		AfterRestart: func() {
			select {
			case restarts <- struct{}{}:
			default:
			}
		},
	})
	// Let the storm run until it has made 3 stops, or failed.
	for i := 0; i < 3; i++ {
		select {
		case <-restarts:
		case <-storm.Done():
		}
	}
	report, err := storm.End()
	close(quit)
	<-done
	fmt.Println(err, report.Stops > 0)
	// Output: <nil> true
}

// CheckStopped holds a stopped world to its policy's stopped states.
func ExampleCheckStopped() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeWorld(w)
	var steps atomic.Int64
	quit := make(chan struct{})
	_, done := guest(w, "counter", &steps, quit)

	s, err := w.Stop(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(suspendtest.CheckStopped(suspend.Coop, s))
	for _, ti := range s.Threads() {
		fmt.Println(ti.Name, ti.Word.State())
	}
	if err := s.Restart(); err != nil {
		fmt.Println(err)
	}
	close(quit)
	<-done
	// Output:
	// <nil>
	// counter SELF_SUSPENDED
}

// A debugger's pause: SuspendThread returns once the thread is stopped,
// and WaitParked confirms it sits at its poll.
func ExampleWaitParked() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeWorld(w)
	var steps atomic.Int64
	quit := make(chan struct{})
	th, done := guest(w, "counter", &steps, quit)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.SuspendThread(ctx, th); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(suspendtest.WaitParked(ctx, th), th.Word())
	if err := w.ResumeThread(th); err != nil {
		fmt.Println(err)
	}
	close(quit)
	<-done
	// Output: <nil> SELF_SUSPENDED n=1 (0x104)
}

// WaitInRegion waits until a thread has entered its blocking region.
func ExampleWaitInRegion() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeWorld(w)
	release := make(chan struct{})
	ready := make(chan *suspend.Thread)
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("reader")
		if err != nil {
			panic(err)
		}
		defer func() {
			if err := th.Detach(); err != nil {
				fmt.Println(err)
			}
		}()
		ready <- th
		safepoint.Blocking(th, func() { <-release })
	}()
	th := <-ready
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(suspendtest.WaitInRegion(ctx, th), th.Word().State())
	close(release)
	<-done
	// Output: <nil> BLOCKING
}

// Slowest names the thread that holds a stop up: here one that, once the
// stop has asked it to, runs on without polling until the other thread,
// which waits in a blocking region, has been asked too.
func ExampleSlowest() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeWorld(w)
	quit := make(chan struct{})
	ready := make(chan *suspend.Thread)
	var done sync.WaitGroup
	// attach runs body on a goroutine attached as name and sends its
	// thread on ready first.
	attach := func(name string, body func(th *suspend.Thread)) {
		done.Add(1)
		go func() {
			defer done.Done()
			th, err := w.Attach(name)
			if err != nil {
				panic(err)
			}
			defer func() {
				if err := th.Detach(); err != nil {
					fmt.Println(err)
				}
			}()
			ready <- th
			body(th)
		}()
	}
	// A thread in a blocking region counts as stopped as soon as the stop
	// asks it; it reaches no poll, so the stop waits for nothing of it.
	attach("waiting", func(th *suspend.Thread) {
		safepoint.Blocking(th, func() { <-quit })
	})
	waiting := <-ready
	attach("slow", func(th *suspend.Thread) {
		for {
			select {
			case <-quit:
				return
			default:
			}
			// Asked to stop, this thread runs on (ASYNC_SUSPEND_REQUESTED)
			// until the stop has asked the other one too, so that it
			// is the last to stop, whatever the order of the requests.
			if waiting.Word().State() == threadstate.BlockingSuspendRequested {
				safepoint.Poll(th)
			}
			runtime.Gosched()
		}
	})
	slow := <-ready

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, found, err := suspendtest.Slowest(ctx, w, []*suspend.Thread{waiting, slow})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(found.Thread, found.Wait > 0)
	if err := s.Restart(); err != nil {
		fmt.Println(err)
	}
	close(quit)
	done.Wait()
	// Output: slow true
}

// CheckedCell checks a code path's transitions against the reference's
// invariants and the policy's reachable states: under coop, nothing may
// finish an asynchronous suspend.
func ExampleCheckedCell() {
	c := suspendtest.NewCheckedCell(suspend.Coop)
	for _, e := range []threadstate.Event{threadstate.Attach, threadstate.RequestSuspension, threadstate.StatePoll, threadstate.RequestResume} {
		r, err := c.Apply(e)
		fmt.Println(e, r, err)
	}
	c = suspendtest.NewCheckedCell(suspend.Coop)
	for _, e := range []threadstate.Event{threadstate.Attach, threadstate.RequestSuspension} {
		if _, err := c.Apply(e); err != nil {
			fmt.Println(err)
			return
		}
	}
	_, err := c.Apply(threadstate.FinishAsyncSuspend)
	fmt.Println(err != nil)
	// Output:
	// ATTACH NoResult <nil>
	// REQUEST_SUSPENSION ReqSuspendInitSuspendRunning <nil>
	// STATE_POLL SelfSuspendNotifyAndWait <nil>
	// REQUEST_RESUME ResumeInitSelfResume <nil>
	// true
}

// Do performs an action on the calling goroutine's own thread: here a
// callback into guest code from a blocking region.
func ExampleDo() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeWorld(w)
	th, err := w.Attach("guest")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		if err := th.Detach(); err != nil {
			fmt.Println(err)
		}
	}()
	err = suspendtest.Do(th, suspendtest.Callback, func() {
		fmt.Println("in the callback:", th.Word().State())
	})
	fmt.Println(err, th.Word().State())
	// Output:
	// in the callback: RUNNING
	// <nil> RUNNING
}

// The generators draw the kit's values for rapid property tests; Example
// shows one draw each.
func ExamplePolicies() {
	p := suspendtest.Policies().Example(1)
	e := suspendtest.Events().Example(1)
	w := suspendtest.Words(threadstate.States(threadstate.Running)).Example(1)
	a := suspendtest.Actions().Example(1)
	fmt.Println(p.Valid(), e.Valid(), w.State(), a < 4)
	// Output: true true RUNNING true
}

// DistributionOf summarises stop latencies the way a storm reports them.
func ExampleDistributionOf() {
	var samples []time.Duration
	for i := 1; i <= 100; i++ {
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	fmt.Println(suspendtest.DistributionOf(samples))
	// Output: p50 50µs, p99 99µs, max 100µs (100 samples)
}

// closeWorld closes a world whose threads have all detached; an error
// here would show in the example's output.
func closeWorld(w *suspend.World) {
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
}
