package suspendtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// WaitParked waits until th is parked: stopped at a poll, on its way out
// of a blocking region, or in its signal handler (threadstate's parked
// states), as it is after a SuspendThread of a thread that was running.
// It fails when ctx is done first, naming the thread and its last word.
func WaitParked(ctx context.Context, th *suspend.Thread) error {
	return waitState(ctx, th, "parked", func(w threadstate.Word) bool { return w.State().IsParked() })
}

// WaitInRegion waits until th runs inside a blocking region
// (EnterSafe/Blocking, or a wrapped system call): Blocking, or
// BlockingSuspendRequested when a stop counts it as stopped there.
func WaitInRegion(ctx context.Context, th *suspend.Thread) error {
	return waitState(ctx, th, "in a blocking region", func(w threadstate.Word) bool {
		s := w.State()
		return s == threadstate.Blocking || s == threadstate.BlockingSuspendRequested
	})
}

// waitState polls th's word until ok holds. A state word has no
// notification to wait on, so it yields between loads; the threads it
// waits for run meanwhile.
func waitState(ctx context.Context, th *suspend.Thread, what string, ok func(threadstate.Word) bool) error {
	for i := 0; ; i++ {
		w := th.Word()
		if ok(w) {
			return nil
		}
		if w.State() == threadstate.Detached {
			return fmt.Errorf("suspendtest: thread %q detached while waiting for it to be %s", th.Name(), what)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("suspendtest: thread %q is not %s (%v): %w", th.Name(), what, w, err)
		}
		if i < 1000 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// SlowestThread is what Slowest found: the thread that reached its
// stopped state last, and when, counted from Stop's call.
type SlowestThread struct {
	Name  string
	After time.Duration
	// Stopped is the stop Slowest made; the caller restarts it.
	Stopped *suspend.Stopped
}

// Slowest stops w and watches threads while the stop waits, to find the
// one that held it up: the last to leave the executing states Running and
// AsyncSuspendRequested. It returns the stopped world, which the caller
// restarts. threads are the threads to watch (a World does not hand out
// its threads); the others are stopped but not timed. A thread that is not
// part of the stop (another world's, or one that has detached or that
// the world removed) is an error: Slowest then stops nothing, or, if the
// thread left while the stop was made, restarts the world.
//
// The times are sampled by a goroutine that loads the words in a loop, so
// they are upper bounds, accurate to that loop's period (microseconds
// when a CPU is free). A thread the loop did not see stop before the stop
// returned gets the stop's return time; when several share it (the loop
// did not run meanwhile, on a loaded machine), the first of them in
// threads is named.
func Slowest(ctx context.Context, w *suspend.World, threads []*suspend.Thread) (SlowestThread, error) {
	if len(threads) == 0 {
		return SlowestThread{}, fmt.Errorf("suspendtest: Slowest needs at least one thread to watch")
	}
	for _, th := range threads {
		if err := partOf(w, th); err != nil {
			return SlowestThread{}, err
		}
	}
	type result struct {
		s   *suspend.Stopped
		err error
	}
	stopped := make(chan result, 1)
	start := time.Now()
	go func() {
		s, err := w.Stop(ctx)
		stopped <- result{s, err}
	}()
	at := make([]time.Duration, len(threads))
	left := len(threads)
	for {
		select {
		case r := <-stopped:
			if r.err != nil {
				return SlowestThread{}, r.err
			}
			// Threads not yet seen stopped were seen by the stop itself:
			// they stopped before it returned, so no later than now.
			now := time.Since(start)
			slowest := SlowestThread{Stopped: r.s, After: -1}
			ids := map[uint64]bool{}
			for _, info := range r.s.Threads() {
				ids[info.ID] = true
			}
			for _, th := range threads {
				if !ids[th.ID()] {
					return SlowestThread{}, errors.Join(
						fmt.Errorf("suspendtest: Slowest: thread %q is not part of the stop: it left the world while the stop was made", th.Name()),
						r.s.Restart())
				}
			}
			for i, th := range threads {
				if at[i] == 0 && !executing(th.Word()) {
					at[i] = max(now, 1)
				}
				if at[i] > slowest.After {
					slowest.Name, slowest.After = th.Name(), at[i]
				}
			}
			return slowest, nil
		default:
		}
		if left > 0 {
			for i, th := range threads {
				if at[i] == 0 && th.Word().Count() > 0 && !executing(th.Word()) {
					at[i] = max(time.Since(start), 1) // zero means not seen yet
					left--
				}
			}
		}
		runtime.Gosched()
	}
}

// partOf fails unless th is one of w's threads, which a stop of w holds.
func partOf(w *suspend.World, th *suspend.Thread) error {
	switch {
	case th == nil:
		return errors.New("suspendtest: Slowest: a nil thread is not part of the stop")
	case th.World() != w:
		return fmt.Errorf("suspendtest: Slowest: thread %q is not part of the stop: it belongs to another world", th.Name())
	case !th.Attached():
		return fmt.Errorf("suspendtest: Slowest: thread %q is not part of the stop: it has detached, or its world removed it (%v)",
			th.Name(), th.Word())
	}
	return nil
}

// executing reports whether a thread in word w is still on its way to a
// stop: running GC-unsafe code that has not reached its poll.
func executing(w threadstate.Word) bool {
	s := w.State()
	return s == threadstate.Running || s == threadstate.AsyncSuspendRequested
}
