// Command vm is coopsuspend's main demonstration: a small bytecode
// interpreter whose guest threads are attached goroutines, with a
// stop-the-world garbage collector and a debugger that pauses one thread
// at a time.
//
// Each guest thread runs a loop that allocates list cells, polls at its
// backward branch (safepoint.Poll) and now and then makes a blocking native
// call (safepoint.Blocking). Meanwhile:
//
//   - the collector stops the world every -gc interval, marks from every
//     thread's registers and stack, sweeps their allocation lists, checks
//     that no thread moved while stopped, and restarts the world;
//   - the debugger suspends one thread at a time (SuspendThread), checks
//     that it stays put, and resumes it (ResumeThread);
//   - at the end, a thread stuck in a no-safepoints region shows what a stop
//     that cannot finish looks like: it times out, is rolled back, and the
//     next stop succeeds.
//
// Run it with: go run ./examples/vm [-threads 4] [-policy coop|hybrid|preemptive]
// Under the race detector (go run -race ./examples/vm) it shows that the
// stops alone order the collector's accesses to the guests' state.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// diagnose adds detail to a failure; the tests set it to dump every
// goroutine's stack.
var diagnose = func() string { return "" }

type config struct {
	threads     int
	iterations  int64
	keep        int64 // list cells kept live per thread
	sleepMicros int64
	gcInterval  time.Duration
	policy      string // "" means COOPSUSPEND_POLICY or coop
}

type report struct {
	collections, freed, maxLive int
	debuggerPauses              int
	timedOutStopRolledBack      bool
	stats                       suspend.Stats
}

func main() {
	cfg := config{}
	flag.IntVar(&cfg.threads, "threads", 4, "guest threads")
	flag.Int64Var(&cfg.iterations, "n", 200_000, "loop iterations per guest thread")
	flag.Int64Var(&cfg.keep, "keep", 100, "list cells each thread keeps live before dropping its list")
	flag.Int64Var(&cfg.sleepMicros, "sleep", 50, "microseconds of each blocking native call")
	flag.DurationVar(&cfg.gcInterval, "gc", 2*time.Millisecond, "time between collections")
	flag.StringVar(&cfg.policy, "policy", "", "suspend policy: coop, hybrid or preemptive (default $"+suspend.PolicyEnv+" or coop)")
	flag.Parse()
	if _, err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vm:", err)
		os.Exit(1)
	}
}

func run(cfg config, out io.Writer) (rep report, err error) {
	var opts []suspend.Option
	if cfg.policy != "" {
		p, err := suspend.ParsePolicy(cfg.policy)
		if err != nil {
			return rep, err
		}
		opts = append(opts, suspend.WithPolicy(p))
	}
	w, err := suspend.NewWorld(opts...)
	if err != nil {
		return rep, err
	}
	// Every guest has detached by the time run returns (guests.wait),
	// so the world closes; a failure to close is the run's failure too.
	defer func() { err = errors.Join(err, w.Close()) }()
	fmt.Fprintf(out, "coopsuspend vm: %d guest threads, policy %v, %d iterations each\n",
		cfg.threads, w.Policy(), cfg.iterations)

	guests, err := startGuests(w, cfg)
	if err != nil {
		return rep, err
	}
	byID := make(map[uint64]*thread)
	for _, g := range guests.threads {
		byID[g.th.ID()] = g
	}

	var collectorErr, debuggerErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); collectorErr = collector(w, cfg, byID, guests.done, &rep, out) }()
	go func() { defer wg.Done(); debuggerErr = debugger(w, guests.threads, guests.done, &rep) }()
	guestErr := guests.wait()
	wg.Wait()
	if err := errors.Join(guestErr, collectorErr, debuggerErr); err != nil {
		return rep, err
	}
	for _, g := range guests.threads {
		want := cfg.iterations * (cfg.iterations + 1) / 2
		if got := g.regs[2].n; got != want {
			return rep, fmt.Errorf("%s computed %d, want %d", g.name, got, want)
		}
	}
	fmt.Fprintf(out, "guests: all %d computed the right sum\n", len(guests.threads))
	fmt.Fprintf(out, "collector: %d collections, %d cells freed, at most %d live (bound %d)\n",
		rep.collections, rep.freed, rep.maxLive, cfg.threads*int(cfg.keep))
	fmt.Fprintf(out, "debugger: %d single-thread pauses, no thread moved while paused\n", rep.debuggerPauses)

	ok, err := stuckThreadDemo(w, out)
	if err != nil {
		return rep, err
	}
	rep.timedOutStopRolledBack = ok

	rep.stats = w.Stats()
	st := rep.stats
	fmt.Fprintf(out, "world: %d stops, %d timed out; time to safepoint p50 %v p99 %v; pause p50 %v p99 %v max %v\n",
		st.Stops, st.TimedOut, st.TimeToSafepoint.P50, st.TimeToSafepoint.P99,
		st.Pause.P50, st.Pause.P99, st.Pause.Max)
	return rep, nil
}

// guests is the set of running guest threads.
type guests struct {
	threads []*thread
	done    chan struct{} // closed when every guest has detached
	errs    chan error
}

func startGuests(w *suspend.World, cfg config) (*guests, error) {
	g := &guests{done: make(chan struct{}), errs: make(chan error, cfg.threads)}
	attached := make(chan error, cfg.threads)
	var wg sync.WaitGroup
	for i := range cfg.threads {
		t := &thread{name: fmt.Sprintf("guest-%d", i), prog: program(cfg.iterations, cfg.keep, cfg.sleepMicros)}
		g.threads = append(g.threads, t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := w.Attach(t.name)
			t.th = th
			attached <- err
			if err != nil {
				return
			}
			if err := t.run(); err != nil {
				g.errs <- err
			}
			if err := th.Detach(); err != nil {
				g.errs <- err
			}
		}()
	}
	var err error
	for range cfg.threads {
		err = errors.Join(err, <-attached)
	}
	go func() { wg.Wait(); close(g.done); close(g.errs) }()
	return g, err
}

func (g *guests) wait() error {
	<-g.done
	var err error
	for e := range g.errs {
		err = errors.Join(err, e)
	}
	return err
}

// collector stops the world every interval and collects the guest heap.
// It is not an attached thread: it touches guest state only while the
// world is stopped.
func collector(w *suspend.World, cfg config, byID map[uint64]*thread, done <-chan struct{},
	rep *report, out io.Writer) error {
	tick := time.NewTicker(cfg.gcInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := w.Stop(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("collector: %w%s", err, diagnose())
		}
		var stopped []*thread
		before := map[*thread]int64{}
		for _, info := range s.Threads() {
			t := byID[info.ID]
			stopped = append(stopped, t)
			before[t] = t.steps
		}
		if rep.collections == 0 {
			fmt.Fprintf(out, "first collection, world stopped:\n%s", indent(dumpThreads(w)))
		}
		c := collect(stopped)
		runtime.Gosched() // give a thread that wrongly runs on the chance to show it
		for t, steps := range before {
			if t.steps != steps {
				return fmt.Errorf("collector: %s ran while the world was stopped (%d -> %d steps)", t.name, steps, t.steps)
			}
		}
		if err := s.Restart(); err != nil {
			return err
		}
		rep.collections++
		rep.freed += c.freed
		rep.maxLive = max(rep.maxLive, c.live)
		if c.live > cfg.threads*int(cfg.keep) {
			return fmt.Errorf("collector: %d cells live, more than the program keeps", c.live)
		}
	}
}

// debugger pauses one guest at a time, round robin, and checks that it
// does not move while paused.
func debugger(w *suspend.World, threads []*thread, done <-chan struct{}, rep *report) error {
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			return nil
		case <-tick.C:
		}
		t := threads[i%len(threads)]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.SuspendThread(ctx, t.th)
		cancel()
		if err != nil {
			if errors.Is(err, suspend.ErrDetached) {
				continue // that guest has finished
			}
			return fmt.Errorf("debugger: %w%s", err, diagnose())
		}
		pc, steps := t.pc, t.steps
		time.Sleep(200 * time.Microsecond)
		moved := t.pc != pc || t.steps != steps
		if err := w.ResumeThread(t.th); err != nil {
			return fmt.Errorf("debugger: %w", err)
		}
		if moved {
			return fmt.Errorf("debugger: %s moved while suspended", t.name)
		}
		rep.debuggerPauses++
	}
}

// stuckThreadDemo attaches a thread that spins inside a no-safepoints
// region (native code that must not be interrupted) and shows that a stop
// gives up, rolls back, and leaves the world usable.
func stuckThreadDemo(w *suspend.World, out io.Writer) (bool, error) {
	inRegion, release, finished := make(chan *suspend.Thread), make(chan struct{}), make(chan error)
	go func() {
		th, err := w.Attach("stuck-native")
		if err != nil {
			inRegion <- nil
			finished <- err
			return
		}
		safepoint.BeginNoSafepoints(th)
		inRegion <- th
		<-release // busy in native code, unable to poll
		safepoint.EndNoSafepoints(th)
		safepoint.Poll(th)
		finished <- th.Detach()
	}()
	if <-inRegion == nil {
		return false, <-finished
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := w.Stop(ctx)
	cancel()
	var te *suspend.StopTimeoutError
	if !errors.As(err, &te) {
		close(release)
		return false, fmt.Errorf("a stop with a thread stuck in a no-safepoints region returned %v, want a timeout", err)
	}
	fmt.Fprintf(out, "stuck thread: Stop gave up after 20ms waiting for %v and rolled back\n", te.Waiting)
	close(release)
	if err := <-finished; err != nil {
		return false, err
	}
	s, err := w.Stop(context.Background())
	if err != nil {
		return false, fmt.Errorf("the stop after a rolled-back one failed: %w", err)
	}
	if err := s.Restart(); err != nil {
		return false, err
	}
	fmt.Fprintln(out, "stuck thread: released; the next stop succeeded")
	return true, nil
}

// dumpThreads returns the thread lines of the world's dump, without the
// cue card.
func dumpThreads(w *suspend.World) string {
	var b strings.Builder
	if err := w.Dump(&b); err != nil {
		return err.Error() // a strings.Builder does not fail
	}
	s := b.String()
	if i := strings.Index(s, "world:"); i >= 0 {
		s = s[i:]
	}
	return s
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
