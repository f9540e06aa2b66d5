package suspendtest_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

var policies = []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive}

// newWorld returns a world of policy p, or skips when p needs signals
// that do not work here.
func newWorld(t *testing.T, p suspend.Policy) *suspend.World {
	t.Helper()
	w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
	if err := w.CheckSignals(); err != nil {
		t.Skipf("%v needs asynchronous suspension, which does not work here: %v", p, err)
	}
	return w
}

// actors runs n attached goroutines that perform random actions until
// quit; progress counts the work done in GC-unsafe code (which a stop
// must freeze), cheat the work done inside blocking regions (which a
// stop lets run) when cheat is set.
type actors struct {
	progress atomic.Int64
	quit     chan struct{}
	wg       sync.WaitGroup
	errs     chan error
}

func startActors(t *testing.T, w *suspend.World, n int, cheat bool) *actors {
	t.Helper()
	a := &actors{quit: make(chan struct{}), errs: make(chan error, n)}
	for i := range n {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			th, err := w.Attach("actor-" + string(rune('a'+i)))
			if err != nil {
				a.errs <- err
				return
			}
			defer func() {
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
			}()
			for k := 0; ; k++ {
				select {
				case <-a.quit:
					return
				default:
				}
				act := suspendtest.Action(k % 4)
				work := func() { a.progress.Add(1) }
				if act == suspendtest.Block {
					// 100 µs, not 1: a goroutine locked to its thread
					// (hybrid, preemptive) that sleeps a microsecond in a
					// loop starves the rest of the program in Go's
					// scheduler (docs/design.md, "qemu-user, and
					// goroutines left runnable").
					work = func() { time.Sleep(100 * time.Microsecond) }
					if cheat {
						// Count for a millisecond inside the region, so
						// that a stop landing meanwhile sees the count
						// move during its check (one add at the region's
						// edge was missed for 30 s on a loaded machine).
						work = func() {
							for end := time.Now().Add(time.Millisecond); time.Now().Before(end); {
								a.progress.Add(1)
							}
						}
					}
				}
				if err := suspendtest.Do(th, act, work); err != nil {
					a.errs <- err
					return
				}
			}
		}()
	}
	t.Cleanup(a.stop)
	return a
}

func (a *actors) stop() {
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	a.wg.Wait()
}

// frozen is a storm check that the actors' progress does not move while
// the world is stopped.
func frozen(a *actors) func(*suspend.Stopped) error {
	return func(*suspend.Stopped) error {
		before := a.progress.Load()
		time.Sleep(200 * time.Microsecond)
		if after := a.progress.Load(); after != before {
			return errors.New("progress moved while the world was stopped")
		}
		return nil
	}
}

// TestStormHoldsOnEveryAction: under each policy, threads cycling through
// polls, blocking regions, callbacks and no-safepoints regions are all in
// a stopped state at every stop, and nothing they do in GC-unsafe code
// moves while the world is stopped.
func TestStormHoldsOnEveryAction(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, p)
			a := startActors(t, w, 3, false)
			storm := suspendtest.StartStorm(w, suspendtest.StormConfig{Check: frozen(a)})
			time.Sleep(300 * time.Millisecond)
			rep, err := storm.End()
			a.stop()
			close(a.errs)
			for e := range a.errs {
				t.Error(e)
			}
			t.Logf("%v: %v", p, rep)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Stops == 0 || rep.Latency.Max == 0 {
				t.Fatalf("the storm made %d stops, latency %v", rep.Stops, rep.Latency)
			}
		})
	}
}

// TestStormCatchesProgressWhileStopped: the check can fail. Actors that
// count inside their blocking regions (which run on during a stop) are
// caught by the same check, and the storm ends with its error, leaving
// the world running.
func TestStormCatchesProgressWhileStopped(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two Ps: the actors must run in their blocking regions while the storm's goroutine " +
			"holds the stop and checks them; with one P they never run then, so there is no progress to catch")
	}
	w := newWorld(t, suspend.Coop)
	a := startActors(t, w, 2, true)
	storm := suspendtest.StartStorm(w, suspendtest.StormConfig{Check: frozen(a)})
	select {
	case <-storm.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the storm did not notice progress in blocking regions in 30 s")
	}
	_, err := storm.End()
	if err == nil || !strings.Contains(err.Error(), "progress moved") {
		t.Fatalf("storm error %v, want the check's", err)
	}
	// The storm restarted the world before it ended: a stop works.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, serr := w.Stop(ctx)
	if serr != nil {
		t.Fatal(serr)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}

// TestStormReportsFailedStop: a stop that cannot complete (a thread in a
// no-safepoints region that never ends) fails the storm with the stop's
// error.
func TestStormReportsFailedStop(t *testing.T) {
	w := newWorld(t, suspend.Coop)
	release := make(chan struct{})
	inRegion := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("stuck")
		if err != nil {
			t.Error(err)
			close(inRegion)
			return
		}
		defer func() {
			if err := th.Detach(); err != nil {
				t.Error(err)
			}
		}()
		err = suspendtest.Do(th, suspendtest.NoSafepoints, func() {
			close(inRegion)
			<-release
		})
		if err != nil {
			t.Error(err)
		}
		safepoint.Poll(th)
	}()
	<-inRegion
	storm := suspendtest.StartStorm(w, suspendtest.StormConfig{StopTimeout: 20 * time.Millisecond})
	<-storm.Done()
	close(release)
	<-done
	_, err := storm.End()
	var te *suspend.StopTimeoutError
	if !errors.As(err, &te) || len(te.Waiting) != 1 || te.Waiting[0] != "stuck" {
		t.Fatalf("storm error %v, want a StopTimeoutError waiting for \"stuck\"", err)
	}
}

// TestWaitsFailNamingTheThread: a wait that cannot succeed ends with the
// context and names the thread and its word.
func TestWaitsFailNamingTheThread(t *testing.T) {
	w := newWorld(t, suspend.Coop)
	th, err := w.Attach("idle")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	for name, wait := range map[string]func(context.Context, *suspend.Thread) error{
		"WaitParked": suspendtest.WaitParked, "WaitInRegion": suspendtest.WaitInRegion,
	} {
		err := wait(ctx, th)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"idle"`) || !strings.Contains(err.Error(), "RUNNING") {
			t.Errorf("%s of a running thread: %v", name, err)
		}
	}
	if _, _, err := suspendtest.Slowest(ctx, w, nil); err == nil {
		t.Error("Slowest with no threads succeeded")
	}
}

// TestCheckedCellProperty: random events on a CheckedCell are refused or
// obey every invariant, and the cell stays within the policy's reachable
// states unless an event outside the policy (one the policy's runtime
// never makes) took it out, which the cell reports.
func TestCheckedCellProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := suspendtest.Policies().Draw(rt, "policy")
		c := suspendtest.NewCheckedCell(p)
		for range rapid.IntRange(1, 200).Draw(rt, "n") {
			e := suspendtest.Events().Draw(rt, "event")
			before := c.Load()
			_, err := c.Apply(e)
			var te *threadstate.TransitionError
			var ie *threadstate.InvariantError
			switch {
			case err == nil:
				if !p.States().Has(c.Load().State()) {
					rt.Fatalf("%v: %v took the cell to %v without an error", p, e, c.Load())
				}
			case errors.As(err, &te):
				if c.Load() != before {
					rt.Fatalf("refused %v changed the word from %v to %v", e, before, c.Load())
				}
			case errors.As(err, &ie):
				if ie.Invariant != "I11" {
					rt.Fatalf("a real Cell broke %v: %v", ie.Invariant, ie)
				}
				return // the view is unreliable after an error
			default:
				rt.Fatalf("unexpected error type %T: %v", err, err)
			}
		}
	})
}

// TestWordsAreWellFormed: Words draws only well-formed words in the
// states asked for.
func TestWordsAreWellFormed(t *testing.T) {
	set := threadstate.States(threadstate.Blocking, threadstate.SelfSuspended)
	rapid.Check(t, func(rt *rapid.T) {
		w := suspendtest.Words(set).Draw(rt, "word")
		if !w.WellFormed() || !set.Has(w.State()) {
			rt.Fatalf("drew %v", w)
		}
	})
}

// TestActionsUnderSuspend: any sequence of actions, on a real thread
// that a debugger suspends and resumes meanwhile, runs through without a
// protocol panic and ends in GC-unsafe mode. (It failed 1 CI run in
// several while it demanded Running: a request that came after the last
// poll leaves the word ASYNC_SUSPEND_REQUESTED, and the thread then
// reported an error instead of detaching, which honours the request.)
func TestActionsUnderSuspend(t *testing.T) {
	w := newWorld(t, suspend.Coop)
	rapid.Check(t, func(rt *rapid.T) {
		acts := rapid.SliceOfN(suspendtest.Actions(), 1, 50).Draw(rt, "actions")
		ready := make(chan *suspend.Thread)
		done := make(chan error)
		go func() {
			th, err := w.Attach("driven")
			if err != nil {
				close(ready)
				done <- err
				return
			}
			ready <- th
			for _, a := range acts {
				if err := suspendtest.Do(th, a, nil); err != nil {
					done <- err
					return
				}
			}
			// The actions end in GC-unsafe mode: Running, or asked to
			// stop if the debugger's request came after the last poll.
			// Detach honours such a request (it waits in a blocking
			// region, where the suspend completes).
			if s := th.Word().State(); s != threadstate.Running && s != threadstate.AsyncSuspendRequested {
				done <- errors.New("ended in " + s.String())
				return
			}
			done <- th.Detach()
		}()
		th := <-ready
		if th == nil {
			rt.Fatal(<-done)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.SuspendThread(ctx, th); err == nil {
			if err := w.ResumeThread(th); err != nil {
				rt.Fatal(err)
			}
		} else if !errors.Is(err, suspend.ErrDetached) {
			rt.Fatal(err)
		}
		if err := <-done; err != nil {
			rt.Fatal(err)
		}
	})
	if err := suspendtest.Do(nil, suspendtest.Action(99), nil); err == nil {
		t.Error("Do with an unknown action succeeded")
	}
}

// TestSlowestNamesTheLastToStop: a thread that, asked to stop, polls only
// once another thread has parked is the one Slowest names, in either
// order of the threads: when the sampler cannot tell the two apart (it
// saw both stop in one pass, or neither before the stop returned), the
// stop's own last arrival decides.
//
// The last arrival is the last thread to tell the initiator that it
// parked, which a poll does right after its state word says so. A "fast"
// thread that the scheduler takes off its CPU between the two can
// therefore tell it after "slow" (seen once in a CI run under -race on a
// loaded machine: "fast", 16 ms), and Slowest then rightly names it. So
// the test runs 40 rounds and wants "slow" named in at least 30 of
// them, and every round's answer to be one of the two threads.
func TestSlowestNamesTheLastToStop(t *testing.T) {
	w := newWorld(t, suspend.Coop)
	fast := pollingThread(t, w, "fast")
	ready, quit, done := make(chan *suspend.Thread), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("slow")
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		ready <- th
		for {
			select {
			case <-quit:
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
				return
			default:
			}
			if fast.Word().State() == threadstate.SelfSuspended {
				safepoint.Poll(th)
			}
			runtime.Gosched()
		}
	}()
	slow := <-ready
	if slow == nil {
		t.FailNow()
	}
	defer func() { close(quit); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	named := map[string]int{}
	for round := range 40 {
		threads := []*suspend.Thread{fast, slow}
		if round%2 == 1 {
			threads = []*suspend.Thread{slow, fast}
		}
		s, found, err := suspendtest.Slowest(ctx, w, threads)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if (found.Thread != "slow" && found.Thread != "fast") || found.Wait <= 0 {
			t.Errorf("round %d: Slowest found %+v, want slow (or fast, if it was taken off its CPU while parking)", round, found)
		}
		named[found.Thread]++
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if named["slow"] < 30 {
		t.Errorf("Slowest named the threads %v times in 40 rounds; want slow at least 30 times", named)
	}
}
