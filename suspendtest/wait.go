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

// Slowest stops w and watches threads while the stop waits, to find the
// one that held it up: the last to leave the executing states Running and
// AsyncSuspendRequested. It returns the stopped world, which the caller
// restarts, and that thread as an Arrival: its name, and when it stopped,
// counted from Stop's call. threads are the threads to watch (a World
// does not hand out its threads); the others are stopped but not timed.
// A thread that is not part of the stop (another world's, or one that has
// detached or that the world removed) is an error: Slowest then stops
// nothing, or, if the thread left while the stop was made, restarts the
// world.
//
// The times are sampled by a goroutine that loads the words in a loop, so
// they are upper bounds, accurate to that loop's period (microseconds
// when a CPU is free). Threads the loop saw stop in the same pass share
// its time, and threads it did not see stop before the stop returned
// share the stop's return time. Among threads that share the latest time,
// Slowest names the one the stop itself saw arrive last at its poll
// (Stopped.Slowest) if it is one of them, and otherwise the first of them
// in threads.
func Slowest(ctx context.Context, w *suspend.World, threads []*suspend.Thread) (*suspend.Stopped, suspend.Arrival, error) {
	if len(threads) == 0 {
		return nil, suspend.Arrival{}, fmt.Errorf("suspendtest: Slowest needs at least one thread to watch")
	}
	for _, th := range threads {
		if err := partOf(w, th); err != nil {
			return nil, suspend.Arrival{}, err
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
	at := make([]time.Duration, len(threads)) // zero: not seen stopped yet
	seen := make([]bool, len(threads))
	left := len(threads)
	for {
		select {
		case r := <-stopped:
			if r.err != nil {
				return nil, suspend.Arrival{}, r.err
			}
			// Threads not yet seen stopped were seen by the stop itself:
			// they stopped before it returned, so no later than now.
			now := time.Since(start)
			ids := map[uint64]bool{}
			for _, info := range r.s.Threads() {
				ids[info.ID] = true
			}
			for _, th := range threads {
				if !ids[th.ID()] {
					return nil, suspend.Arrival{}, errors.Join(
						fmt.Errorf("suspendtest: Slowest: thread %q is not part of the stop: it left the world while the stop was made", th.Name()),
						r.s.Restart())
				}
			}
			for i, th := range threads {
				if at[i] == 0 && !executing(th.Word()) {
					at[i] = max(now, 1)
				}
			}
			return r.s, latest(threads, at, r.s.Slowest().Thread), nil
		default:
		}
		if left > 0 {
			for i, th := range threads {
				word := th.Word()
				seen[i] = at[i] == 0 && word.Count() > 0 && !executing(word)
			}
			// One time for the pass, read after its loads: an upper
			// bound for every thread the pass saw stopped.
			now := max(time.Since(start), 1)
			for i := range threads {
				if seen[i] {
					at[i] = now
					left--
				}
			}
		}
		runtime.Gosched()
	}
}

// latest returns the thread with the latest time in at; among threads that
// share it, the one named last (the stop's own last arrival) if it is one
// of them, else the first.
func latest(threads []*suspend.Thread, at []time.Duration, last string) suspend.Arrival {
	slowest := suspend.Arrival{Wait: -1}
	named := false // slowest is the stop's own last arrival
	for i, th := range threads {
		switch {
		case at[i] > slowest.Wait:
			slowest = suspend.Arrival{Thread: th.Name(), Wait: at[i]}
			named = th.Name() == last
		case at[i] == slowest.Wait && !named && th.Name() == last:
			slowest.Thread, named = th.Name(), true
		}
	}
	return slowest
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
