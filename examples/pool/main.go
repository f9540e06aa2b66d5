// Command pool shows thousands of guests on a few runners: each guest is a
// coroutine of a coroutine.Scheduler that runs on two runner goroutines,
// yields after each batch of work (and is preempted by a monitor if it
// does not), and a collector stops the world every millisecond. A stop waits for the runners only, never for the guests
// that are not running, so it costs the same with ten guests or ten
// thousand; a debugger pauses single guests (Scheduler.Suspend) and finds
// them frozen.
//
// Run it with: go run ./examples/pool [-guests 10000] [-runners 2] [-stops 200]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
)

type config struct {
	guests, runners, stops, pauses int
}

type report struct {
	stops       int
	maxThreads  int           // threads held by one stop: at most the runners
	p50, p99    time.Duration // Stop+Restart
	pauses      int
	movedPaused int // steps a paused guest took: must be 0
	movedStop   int // steps taken while the world was stopped: must be 0
}

func main() {
	cfg := config{}
	flag.IntVar(&cfg.guests, "guests", 10_000, "guest coroutines")
	flag.IntVar(&cfg.runners, "runners", 2, "runner goroutines")
	flag.IntVar(&cfg.stops, "stops", 200, "stops of the world, a millisecond apart")
	flag.IntVar(&cfg.pauses, "pauses", 50, "single-guest pauses")
	flag.Parse()
	if _, err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pool:", err)
		os.Exit(1)
	}
}

// guest is one guest's state: the steps it has taken. The collector and
// the debugger read it only while the guest is held (a stop of the world,
// or a Suspend), which orders the reads after the guest's writes.
type guest struct {
	id    uint64
	steps int64
}

// interpret stands for the guest code run between two polls: a real call,
// as an interpreter's dispatch is.
//
//go:noinline
func interpret(g *guest) {
	for range 64 {
		g.steps++
	}
}

func run(cfg config, out io.Writer) (rep report, err error) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(time.Millisecond/2))
	defer m.Stop()
	// Every guest polls and yields, so no runner needs handing off (and a
	// loaded machine, which can keep a runner off the CPU for tens of
	// milliseconds, would make one look stuck): the stops hold exactly
	// the runners' threads.
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithMonitor(m),
		coroutine.WithRunners(cfg.runners), coroutine.WithName("pool"), coroutine.WithHandoff(0))
	var quit atomic.Bool
	guests := make([]*guest, cfg.guests)
	for i := range guests {
		g := &guest{}
		guests[i] = g
		g.id = s.Submit(func(t *coroutine.Task) any {
			for !quit.Load() {
				interpret(g)
				t.Poll()            // the safepoint: a stop parks the runner here, a slice's end preempts here
				t.Yield(struct{}{}) // a batch of work done: let the others run (as an actor VM counts reductions)
			}
			return g.steps
		})
	}
	fmt.Fprintf(out, "coopsuspend pool: %d guests on %d runners\n", cfg.guests, cfg.runners)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	defer func() {
		quit.Store(true)
		err = errors.Join(err, <-done)
	}()

	// Every guest runs once before the first stop.
	for {
		st, err := w.Stop(context.Background())
		if err != nil {
			return rep, err
		}
		started := 0
		for _, g := range guests {
			if g.steps > 0 {
				started++
			}
		}
		if err := st.Restart(); err != nil {
			return rep, err
		}
		if started == len(guests) {
			break
		}
		time.Sleep(time.Millisecond)
	}

	if err := collector(w, guests, cfg.stops, &rep); err != nil {
		return rep, err
	}
	fmt.Fprintf(out, "collector: %d stops of the world, each holding at most %d threads; Stop+Restart p50 %v, p99 %v; no guest moved while stopped\n",
		rep.stops, rep.maxThreads, rep.p50.Round(time.Microsecond), rep.p99.Round(time.Microsecond))
	if err := debugger(s, guests, cfg.pauses, &rep); err != nil {
		return rep, err
	}
	fmt.Fprintf(out, "debugger: %d single-guest pauses, no paused guest moved\n", rep.pauses)
	return rep, nil
}

// collector stops the world n times, a millisecond apart, and checks that
// no guest moves while it is stopped.
func collector(w *suspend.World, guests []*guest, n int, rep *report) error {
	var took []time.Duration
	total := func() (sum int64) {
		for _, g := range guests {
			sum += g.steps
		}
		return sum
	}
	for range n {
		time.Sleep(time.Millisecond)
		start := time.Now()
		st, err := w.Stop(context.Background())
		if err != nil {
			return err
		}
		rep.maxThreads = max(rep.maxThreads, len(st.Threads()))
		before := total()
		time.Sleep(50 * time.Microsecond)
		if after := total(); after != before {
			rep.movedStop += int(after - before)
		}
		if err := st.Restart(); err != nil {
			return err
		}
		took = append(took, time.Since(start))
		rep.stops++
	}
	slices.Sort(took)
	rep.p50, rep.p99 = took[len(took)/2], took[len(took)*99/100]
	if rep.movedStop != 0 {
		return fmt.Errorf("guests took %d steps while the world was stopped", rep.movedStop)
	}
	return nil
}

// debugger pauses guests one at a time and checks that each stays put.
func debugger(s *coroutine.Scheduler, guests []*guest, n int, rep *report) error {
	for i := range n {
		g := guests[i*len(guests)/n]
		if err := s.Suspend(context.Background(), g.id); err != nil {
			return err
		}
		before := g.steps
		time.Sleep(200 * time.Microsecond)
		if g.steps != before {
			rep.movedPaused += int(g.steps - before)
		}
		if err := s.Resume(g.id); err != nil {
			return err
		}
		rep.pauses++
	}
	if rep.movedPaused != 0 {
		return fmt.Errorf("paused guests took %d steps", rep.movedPaused)
	}
	return nil
}
