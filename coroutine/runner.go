package coroutine

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// A runner is one of a scheduler's goroutines that resume coroutines.
//
// Who writes what:
//
//   - ready: the runner pushes and pops its own; a runner looking for work
//     steals from it; a blocking call that returns, a due timer or a
//     Resume(id) pushes a coroutine bound to the runner. All under mu.
//   - thread, rec, locked: the runner, before it runs anything; read by
//     the runner's own coroutines (switches order them) and, for stealing
//     decisions, by others after Run published the runner.
//   - current, turn: the runner, around each resume; read by Run's
//     context watcher and the hand-off watchdog.
//   - retired: the watchdog sets it once; the runner then takes no new
//     work and leaves when its bound coroutines are done.
//   - left: the runner sets it, under mu and with its queue empty, as
//     it leaves; push refuses it from then on, so no coroutine is queued
//     where no runner will run or close it (left is also read without mu,
//     to choose a destination, and push has the last word).
//   - bound: coroutines bound to the runner and not finished; changed
//     under the scheduler's mu.
type runner struct {
	s    *Scheduler
	name string

	mu    sync.Mutex
	ready readyQueue

	wake chan struct{} // capacity 1: a post that arrives before the wait is kept

	thread *suspend.Thread
	rec    *asyncsuspend.Record
	locked bool // the runner's goroutine is locked to its OS thread

	current atomic.Pointer[entry]
	// turn counts the runner's resumes, twice each: odd while one is in
	// progress. The watchdog finds a runner stuck when it sees the same
	// odd turn for the hand-off time, so a resume reads no clock (as Go's
	// sysmon watches a P's schedtick).
	turn    atomic.Uint64
	retired atomic.Bool
	left    atomic.Bool

	bound int // (s.mu) unfinished coroutines bound to this runner
}

func newRunner(s *Scheduler, name string) *runner {
	return &runner{s: s, name: name, wake: make(chan struct{}, 1)}
}

// push queues e on r as ready, and wakes r, or another runner that may
// steal it, if one is idle. A coroutine coming back from a yield, a
// preemption, a delay or a blocking call moves to Ready first; the move is
// checked (a delay must be due, a call must have returned). It reports
// false, and queues nothing, if r has left.
func (r *runner) push(e *entry) bool {
	if st := e.co.Status(); (st == Suspended || st == Syscall) && !e.cancelledInDelay() {
		if err := e.co.ready(); err != nil {
			panic(fmt.Sprintf("coopsuspend: internal error: scheduler %q: %v", r.s.cfg.name, err)) // the scheduler's own bug
		}
	}
	r.mu.Lock()
	if r.left.Load() {
		r.mu.Unlock()
		return false
	}
	r.ready.push(e)
	r.mu.Unlock()
	r.s.notify(r, e.home == nil)
	return true
}

// pushAll queues es, submitted coroutines that have not run (Ready), on r
// at once; it wakes no one (the caller does). It reports false, and
// queues nothing, if r has left.
func (r *runner) pushAll(es []*entry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left.Load() {
		return false
	}
	for _, e := range es {
		r.ready.push(e)
	}
	return true
}

// leave marks r as gone, unless work was queued on it meanwhile: then it
// reports false, and r must look again (run it, or close it).
func (r *runner) leave() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready.len() > 0 {
		return false
	}
	r.left.Store(true)
	return true
}

// setUp prepares the runner on its own goroutine: it attaches it to the
// world (WithWorld), and locks it to its OS thread and registers that
// thread when the monitor samples overruns. release undoes it.
func (r *runner) setUp() (release func(), err error) {
	s := r.s
	var undo []func()
	release = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if w := s.cfg.world; w != nil {
		th, err := w.Attach(r.name)
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() {
			if err := th.Detach(); err != nil {
				s.mu.Lock()
				s.closeErrs = append(s.closeErrs, err)
				s.mu.Unlock()
			}
		})
		r.thread = th
		r.locked = th.Tid() != 0 // hybrid and preemptive lock attached goroutines
	}
	if m := s.cfg.monitor; m != nil && m.Samples() {
		// A sample of an overrunning coroutine needs the OS thread it
		// runs on: keep the runner (and so its coroutines, which
		// iter.Pull runs on the resumer's thread) on one, registered with
		// the signal handler. A thread attached to a hybrid or
		// preemptive world is registered already.
		runtime.LockOSThread()
		undo = append(undo, runtime.UnlockOSThread)
		r.locked = true
		if r.rec = asyncsuspend.RecordOf(asyncsuspend.Gettid()); r.rec == nil && arch.Supported() {
			rec, err := asyncsuspend.Register(goid.Current())
			if err != nil {
				release()
				return nil, err
			}
			r.rec = rec
			undo = append(undo, rec.Unregister)
		}
	}
	return release, nil
}

// loop resumes coroutines until the scheduler is done, Run's context
// ends (then it closes what it must, and returns the context's error),
// or the runner, retired, has no coroutine bound to it left.
func (r *runner) loop(ctx context.Context) error {
	for {
		e, done := r.next(ctx)
		if done {
			if ctx.Err() != nil {
				r.s.mu.Lock()
				r.s.interrupted = true
				r.s.mu.Unlock()
				r.closeOwn()
				if !r.leave() {
					continue // queued here meanwhile: next closes it
				}
				return ctx.Err()
			}
			if !r.leave() {
				continue
			}
			return nil
		}
		if e != nil {
			r.runOne(e)
		}
	}
}

// next returns the next coroutine to resume, waiting for one if need be
// (inside a blocking region of the runner's thread, so that a stop of the
// world does not wait for an idle runner). done says the runner should
// leave: every coroutine has finished, Run's context has ended, or the
// runner was retired and has no bound coroutine left.
func (r *runner) next(ctx context.Context) (e *entry, done bool) {
	s := r.s
	for {
		if ctx.Err() != nil {
			return nil, true
		}
		if e := r.take(); e != nil {
			return e, false
		}
		// Nothing at hand: register as idle, then look once more, so
		// that work pushed meanwhile is either seen here or wakes us.
		s.mu.Lock()
		if r.retired.Load() && r.bound == 0 {
			s.mu.Unlock()
			return nil, true
		}
		if s.live == 0 && len(s.pending) == 0 {
			s.mu.Unlock()
			s.wakeAll()
			return nil, true
		}
		s.markIdle(r)
		wait := s.nextTimer()
		s.mu.Unlock()
		if e := r.take(); e != nil {
			s.mu.Lock()
			s.unmarkIdle(r)
			s.mu.Unlock()
			return e, false
		}
		r.sleep(ctx, wait)
		s.mu.Lock()
		s.unmarkIdle(r)
		s.mu.Unlock()
	}
}

// take finds work without waiting: the runner's own queue first, then
// (unless retired) newly submitted coroutines, due timers, and the other
// runners' queues.
func (r *runner) take() *entry {
	if e := r.popOwn(); e != nil {
		return e
	}
	if r.retired.Load() {
		r.s.dueTimers(r)
		return r.popOwn()
	}
	r.s.admit(r)
	r.s.dueTimers(r)
	if e := r.popOwn(); e != nil {
		return e
	}
	return r.steal()
}

func (r *runner) popOwn() *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready.pop()
}

// steal takes work from the runner whose first stealable coroutine has
// the highest priority: that coroutine, and up to half of the others
// that may move. A coroutine bound to another runner never moves.
func (r *runner) steal() *entry {
	s := r.s
	var victim *runner
	var best *entry
	most := 0 // victim's stealable entries
	for _, v := range s.runnersNow() {
		if v == r {
			continue
		}
		v.mu.Lock()
		if f := v.ready.firstStealable(); f != nil && (best == nil || f.priority < best.priority ||
			f.priority == best.priority && v.ready.stealable() > most) {
			victim, best, most = v, f, v.ready.stealable()
		}
		v.mu.Unlock()
	}
	if victim == nil {
		return nil
	}
	victim.mu.Lock()
	taken := victim.ready.takeStealable((victim.ready.stealable() + 1) / 2)
	victim.mu.Unlock()
	if len(taken) == 0 {
		return nil // taken by another thief meanwhile
	}
	if len(taken) > 1 {
		r.mu.Lock()
		for _, e := range taken[1:] {
			r.ready.push(e)
		}
		r.mu.Unlock()
	}
	return taken[0]
}

// stealable reports whether a coroutine may move to another runner: it
// is bound to none (it has not run on a locked runner).
func stealable(e *entry) bool { return e.home == nil }

// sleep waits until the runner is woken, the next timer is due (wait > 0),
// or ctx ends.
func (r *runner) sleep(ctx context.Context, wait time.Duration) {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	w := func() {
		select {
		case <-r.wake:
		case <-timer:
		case <-ctx.Done():
		}
	}
	if r.thread != nil {
		safepoint.Blocking(r.thread, w)
	} else {
		w()
	}
}

func (r *runner) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// runOne resumes e and files it by the state it comes back in.
//
// A resume takes no scheduler-wide lock unless a Suspend holds e or e
// first runs on a locked runner: e's own lock orders its hand-over with
// Suspend, Cancel and Resume (see entry).
func (r *runner) runOne(e *entry) {
	s := r.s
	cancelled, run := s.begin(e)
	if !run {
		return // Suspend took it out while it waited: set aside until Resume(id)
	}
	if r.locked && e.home == nil && e.co.next == nil {
		// It starts here, on a locked thread: Go will switch to it only
		// on this thread from now on.
		s.mu.Lock()
		e.home = r
		r.bound++
		s.mu.Unlock()
	}
	if cancelled && e.co.Status() != Running {
		s.close(r, e)
		s.finish(e)
		return
	}
	// The coroutine polls through, and is sampled on, the thread of the
	// runner that resumes it.
	e.co.cfg.thread, e.co.cfg.rec = r.thread, r.rec
	e.last = r
	r.current.Store(e)
	r.turn.Add(1)
	st, err := e.co.Resume(struct{}{})
	r.turn.Add(1)
	if err != nil {
		panic(fmt.Sprintf("coopsuspend: internal error: scheduler %q: %v", s.cfg.name, err)) // the scheduler's own bug
	}
	switch st.Status {
	case Suspended:
		if s.setAside(e) {
			return
		}
		if st.WakeAt.IsZero() || !st.WakeAt.After(time.Now()) || !s.delay(e) {
			s.requeue(r, e) // a yield, a preemption, or a cancelled delay: the tail of its priority
		}
	case Syscall:
		// Out of the runner's hands until the call returns; a Suspend
		// waiting for it is done: it runs no guest code now.
		s.mu.Lock()
		s.blocked[e] = struct{}{}
		e.mu.Lock()
		e.switchedOut()
		e.mu.Unlock()
		s.mu.Unlock()
		go s.runBlocking(e, e.co.takeBlocking())
	default:
		s.finish(e)
	}
}

// closeOwn ends, when Run's context has ended, the coroutines this
// runner is responsible for (Scheduler.responsible): those in its queue,
// its share of the timers and of the coroutines Suspend set aside, and,
// once their calls return (never under them), its share of those in
// blocking calls, waited for inside a blocking region. Only a coroutine's
// home runner may close it (Go switches to it only there).
func (r *runner) closeOwn() {
	s := r.s
	mine := func(e *entry) bool { return s.responsible(r, e) }
	for {
		for e := r.popOwn(); e != nil; e = r.popOwn() {
			s.close(r, e)
			s.finish(e)
		}
		for _, e := range append(s.takeTimers(mine), s.takeParked(mine)...) {
			s.close(r, e)
			s.finish(e)
		}
		s.mu.Lock()
		waiting := s.blockedFor(r)
		if waiting == 0 {
			s.mu.Unlock()
			return
		}
		s.markIdle(r)
		s.mu.Unlock()
		r.mu.Lock()
		queued := r.ready.len()
		r.mu.Unlock()
		if queued == 0 {
			// A call that returns queues its coroutine here and wakes us.
			r.sleep(context.Background(), 0)
		}
		s.mu.Lock()
		s.unmarkIdle(r)
		s.mu.Unlock()
	}
}
