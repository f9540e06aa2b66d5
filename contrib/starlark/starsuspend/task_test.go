package starsuspend_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// taskPool runs n starlark scripts as coroutines of a scheduler on 2
// runners, attached to w and time-sliced by a 1 ms monitor. Each script
// computes spin(steps); the returned results are filled in when Run
// returns.
type taskPool struct {
	s       *coroutine.Scheduler
	guests  []*starsuspend.Guest
	results []string
	ids     []uint64
	done    chan error
	started atomic.Int64
}

func startTaskPool(t *testing.T, w *suspend.World, n, steps int, extra starlark.StringDict) *taskPool {
	t.Helper()
	m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(time.Millisecond/2))
	t.Cleanup(m.Stop)
	p := &taskPool{
		// No hand-off within the test's time: the stops must hold the 2
		// runners' threads and no more.
		s: coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithMonitor(m), coroutine.WithRunners(2),
			coroutine.WithName("scripts"), coroutine.WithHandoff(time.Minute)),
		guests:  make([]*starsuspend.Guest, n),
		results: make([]string, n),
		ids:     make([]uint64, n),
		done:    make(chan error, 1),
	}
	for i := range n {
		p.ids[i] = p.s.Submit(func(task *coroutine.Task) any {
			st := &starlark.Thread{Name: fmt.Sprint("script-", i)}
			g, err := starsuspend.AttachTask(task, st, st.Name)
			if err != nil {
				return err
			}
			p.guests[i] = g
			p.started.Add(1)
			globals, err := execSrc(st, loop, steps, extra)
			if err != nil {
				p.results[i] = "error: " + err.Error()
			} else {
				p.results[i] = globals["r"].String()
			}
			return g.Detach()
		})
	}
	go func() { p.done <- p.s.Run(context.Background()) }()
	return p
}

func (p *taskPool) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the scripts did not finish within 60 s")
	}
	for i, id := range p.ids {
		st, _ := p.s.Result(id)
		if st.Status != coroutine.Complete || st.Result != nil {
			t.Errorf("script %d: %+v", i, st)
		}
	}
}

// TestTaskGuestsUnderStorm: 200 starlark scripts run as coroutines on 2
// runners under a stop storm of the world: each stop holds at most the 2
// runners' threads, no script takes a step while the world is stopped,
// every script can be viewed then (StopAll), and every result is the
// plain run's.
func TestTaskGuestsUnderStorm(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	const n, steps = 200, 20_000
	plain := &starlark.Thread{}
	want, err := execSrc(plain, loop, steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := startTaskPool(t, w, n, steps, nil)
	var checks atomic.Int64
	storm := suspendtest.StartStorm(w, suspendtest.StormConfig{
		Check: func(s *suspend.Stopped) error {
			if k := len(s.Threads()); k > 2 {
				return fmt.Errorf("the stop holds %d threads, more than the 2 runners", k)
			}
			// The guests written before the stop are read in it: the
			// stop orders them.
			total := func() (sum uint64) {
				for _, g := range p.guests {
					if g != nil {
						sum += g.Starlark().Steps
					}
				}
				return sum
			}
			before := total()
			for range 50 {
				testenv.Preemptible()
			}
			after := total()
			if after != before {
				return fmt.Errorf("scripts took %d steps while the world was stopped", after-before)
			}
			checks.Add(1)
			return nil
		},
	})
	p.wait(t)
	rep, err := storm.End()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d scripts on 2 runners: %v", n, rep)
	for i, got := range p.results {
		if got != want["r"].String() {
			t.Fatalf("script %d computed %s, want %s", i, got, want["r"])
		}
	}
	if checks.Load() == 0 {
		t.Error("no stop of the storm landed while the scripts ran")
	}
}

// TestTaskGuestsDebugger: StopAll views every running script while the
// world is stopped; PauseTask pauses one script through its scheduler and
// its view stays put; a task guest's View outside both is refused.
func TestTaskGuestsDebugger(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	const n = 20
	p := startTaskPool(t, w, n, 5_000_000, nil)
	for p.started.Load() < n {
		time.Sleep(time.Millisecond)
	}
	snap, err := starsuspend.StopAll(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	views := 0
	for _, v := range snap.Guests {
		if strings.HasPrefix(v.Name, "script-") {
			views++
		}
	}
	if err := snap.Restart(); err != nil {
		t.Fatal(err)
	}
	if views == 0 {
		t.Errorf("StopAll viewed no script: %+v", snap.Guests)
	}
	g := p.guests[3]
	if _, err := g.View(); err == nil {
		t.Error("View of a running task guest succeeded")
	}
	paused, err := starsuspend.PauseTask(context.Background(), p.s, p.ids[3], g)
	if err != nil {
		t.Fatal(err)
	}
	frozen := paused.View.Steps
	time.Sleep(5 * time.Millisecond)
	if v, err := g.View(); err != nil || v.Steps != frozen {
		t.Errorf("the paused script moved, or cannot be viewed: %+v, %v (steps %d at the pause)", v, err, frozen)
	}
	if paused.View.Where() == "" {
		t.Errorf("the paused script's view has no position: %+v", paused.View)
	}
	if err := paused.Resume(); err != nil {
		t.Fatal(err)
	}
	for _, id := range p.ids {
		p.s.Cancel(id)
	}
	<-p.done
}

// TestTaskGuestBlockingBuiltin: a task guest's Blocking builtin makes its
// call through its coroutine, off the runner: with one runner, another
// script finishes while the first waits in its call.
func TestTaskGuestBlockingBuiltin(t *testing.T) {
	release := make(chan struct{})
	var waiting atomic.Bool
	wait := starsuspend.Blocking("wait", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		waiting.Store(true)
		<-release
		return starlark.None, nil
	})
	s := coroutine.NewScheduler(coroutine.WithRunners(1))
	var otherDone atomic.Bool
	s.Submit(func(task *coroutine.Task) any {
		st := &starlark.Thread{Name: "waiter"}
		g, err := starsuspend.AttachTask(task, st, "waiter")
		if err != nil {
			return err
		}
		if _, err := execSrc(st, "wait()\nr = 1\n", 0, starlark.StringDict{"wait": wait}); err != nil {
			return err
		}
		return g.Detach()
	})
	s.Submit(func(task *coroutine.Task) any {
		for !waiting.Load() {
			task.Yield(struct{}{})
		}
		st := &starlark.Thread{Name: "other"}
		g, err := starsuspend.AttachTask(task, st, "other")
		if err != nil {
			return err
		}
		if _, err := execSrc(st, loop, 10_000, nil); err != nil {
			return err
		}
		otherDone.Store(true)
		close(release)
		return g.Detach()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !otherDone.Load() {
		t.Fatal("the other script did not run while the first waited in its Blocking builtin")
	}
	for id := uint64(1); id <= 2; id++ {
		if st, _ := s.Result(id); st.Status != coroutine.Complete || st.Result != nil {
			t.Errorf("coroutine %d: %+v", id, st)
		}
	}
}
