package coroutine

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// taskCoroutine is what a Scheduler runs: a coroutine that takes and
// yields nothing and returns any value.
type taskCoroutine = Coroutine[struct{}, struct{}, any]

// Scheduler runs coroutines on one goroutine, the one that calls Run:
// ready ones in priority, then submission, order; preempted ones go to
// the tail of their priority; delayed ones wait in a timer heap; those in
// a blocking call (Suspender.Blocking, Sleep) wait for it off the
// scheduler's goroutine while the others run. Submit and Cancel may be
// called from any goroutine.
type Scheduler struct {
	cfg config

	mu      sync.Mutex
	nextID  uint64
	pending []*entry // submitted, not yet seen by Run
	byID    map[uint64]*entry
	// results holds the finished coroutines' results until they are read
	// (Result, Join); resultOrder is their ids in the order they
	// finished, for dropping the oldest past the limit (an id whose
	// result was read meanwhile is skipped there). joiners are the Joins
	// waiting for a coroutine that has not finished: they get its result
	// instead of results.
	results     map[uint64]State[struct{}, any]
	resultOrder []uint64
	joiners     map[uint64][]chan State[struct{}, any]
	wake        chan struct{} // a Submit or Cancel for an idle Run

	// Run's own.
	ready   queue // byPriority
	timers  queue // byWakeAt
	blocked int
	unblock chan *entry
	live    int
	seq     uint64
	rec     *asyncsuspend.Record // the thread's, for the monitor (see monitored)
	thread  *suspend.Thread
	// closeErrs are the refusals of closes that cannot be refused (a
	// Ready or Suspended coroutine); Run returns them.
	closeErrs []error
}

type entry struct {
	id        uint64
	co        *taskCoroutine
	priority  int
	seq       uint64
	cancelled bool // guarded by Scheduler.mu
}

// ErrForeignThread is wrapped by the error of a coroutine submitted
// WithThread of a thread other than its scheduler's: a scheduler's
// coroutines run on Run's goroutine, as the scheduler's thread
// (WithWorld) or as none, and a coroutine bound to another thread would
// poll a thread it does not run on.
var ErrForeignThread = errors.New("a scheduler's coroutine cannot be bound to another thread")

// NewScheduler returns an empty scheduler. Options: WithName, WithWorld,
// WithMonitor, and WithListener (added to every coroutine it runs).
func NewScheduler(opts ...Option) *Scheduler {
	s := &Scheduler{
		byID:    map[uint64]*entry{},
		results: map[uint64]State[struct{}, any]{},
		joiners: map[uint64][]chan State[struct{}, any]{},
		wake:    make(chan struct{}, 1),
		unblock: make(chan *entry, 64),
		ready:   queue{less: byPriority},
		timers:  queue{less: byWakeAt},
	}
	s.cfg.name = "scheduler"
	s.cfg.resultLimit = DefaultResultLimit
	s.cfg.err = s.cfg.applyOptions(forScheduler, opts)
	if s.cfg.err == nil && s.cfg.resultLimit < 0 {
		s.cfg.err = fmt.Errorf("coroutine: NewScheduler: negative result limit %d: use 0 for none", s.cfg.resultLimit)
	}
	return s
}

// Task is the handle a scheduled coroutine's body gets: a Suspender that
// yields nothing and is resumed with nothing. A task's body is
// func(s *Task) any.
type Task = Suspender[struct{}, struct{}]

// Submit adds a coroutine running fn and returns its id. Options: WithName,
// WithPriority, WithListener (added to the scheduler's own). WithThread is
// for the scheduler's own thread only: a coroutine bound to another thread
// is not run, and ends Failed with an error that wraps ErrForeignThread.
func (s *Scheduler) Submit(fn func(s *Task) any, opts ...Option) uint64 {
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	all := append([]Option{WithName(fmt.Sprintf("%s#%d", s.cfg.name, id))}, opts...)
	co := newCoroutine(func(su *Task, _ struct{}) any { return fn(su) }, forSubmit, all, func(c *config) {
		c.offload = true
		c.listeners = append(c.listeners, s.cfg.listeners...)
		c.monitor = s.cfg.monitor
	})
	e := &entry{id: id, co: co, priority: co.cfg.priority}
	s.mu.Lock()
	s.pending = append(s.pending, e)
	s.byID[id] = e
	s.mu.Unlock()
	s.poke()
	return id
}

// Cancel ends the coroutine id: at once if it has not run yet or is
// waiting, at its next Poll if it is running. It reports false if no
// unfinished coroutine has that id.
func (s *Scheduler) Cancel(id uint64) bool {
	s.mu.Lock()
	e, ok := s.byID[id]
	if ok {
		e.cancelled = true
		e.co.RequestCancel()
	}
	s.mu.Unlock()
	s.poke()
	return ok
}

// Result returns the final state of coroutine id and forgets it: it
// reports false if the coroutine has not finished, or its result was read
// already (by Result or Join), or dropped past the scheduler's result
// limit (WithResultLimit).
func (s *Scheduler) Result(id uint64) (State[struct{}, any], bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.results[id]
	delete(s.results, id)
	return st, ok
}

// ErrNoResult is wrapped by the error of a Join of a coroutine whose
// result nobody will deliver: no coroutine was submitted with that id, or
// its result was read already or dropped (see WithResultLimit).
var ErrNoResult = errors.New("no result to join")

// Join waits until coroutine id has finished and returns its final state,
// which it then forgets (as Result does). It returns ctx's error if ctx
// ends first (the result is kept for a later Result or Join), and an
// error wrapping ErrNoResult for an id with no result to come. Several
// Joins of one coroutine all get its result. It may be called from any
// goroutine, and is how a server that submits coroutines keeps no result
// it does not read.
func (s *Scheduler) Join(ctx context.Context, id uint64) (State[struct{}, any], error) {
	s.mu.Lock()
	if st, ok := s.results[id]; ok {
		delete(s.results, id)
		s.mu.Unlock()
		return st, nil
	}
	if _, live := s.byID[id]; !live {
		s.mu.Unlock()
		return State[struct{}, any]{}, fmt.Errorf("coroutine: Join(%d) on scheduler %q: %w: no such coroutine, "+
			"or its result was read or dropped", id, s.cfg.name, ErrNoResult)
	}
	ch := make(chan State[struct{}, any], 1)
	s.joiners[id] = append(s.joiners[id], ch)
	s.mu.Unlock()
	select {
	case st := <-ch:
		return st, nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case st := <-ch: // delivered meanwhile
			return st, nil
		default:
		}
		s.joiners[id] = slices.DeleteFunc(s.joiners[id], func(c chan State[struct{}, any]) bool { return c == ch })
		if len(s.joiners[id]) == 0 {
			delete(s.joiners, id)
		}
		return State[struct{}, any]{}, fmt.Errorf("coroutine: Join(%d) on scheduler %q: %w", id, s.cfg.name, context.Cause(ctx))
	}
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run runs the submitted coroutines until every one has finished
// (Complete, Failed or Cancelled), including those submitted meanwhile.
//
// If ctx ends first, Run resumes nothing more: the coroutine that runs is
// cancelled at its next Poll (or ends its turn by a yield, a preemption
// or a blocking call), the others are closed (Cancelled, their deferred
// calls run), and Run returns ctx's error. A coroutine whose blocking call
// is still out is closed when the call returns, never under it, and Run
// waits for that.
//
// Under WithWorld the goroutine calling Run is attached to the world for
// the duration, polls between coroutines, and does all its waiting
// (idle, or for blocking calls while closing) inside blocking regions, so
// a stop of the world never waits for it.
func (s *Scheduler) Run(ctx context.Context) (err error) {
	if s.cfg.err != nil {
		return fmt.Errorf("coroutine: scheduler %q: %w", s.cfg.name, s.cfg.err)
	}
	var th *suspend.Thread
	if w := s.cfg.world; w != nil {
		th, err = w.Attach(s.cfg.name)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, th.Detach()) }()
	}
	defer func() { err = errors.Join(err, errors.Join(s.closeErrs...)) }()
	if m := s.cfg.monitor; m != nil {
		if err := m.Start(); err != nil {
			return err
		}
		// Samples of an overrunning coroutine need the OS thread it runs
		// on: keep the scheduler (and so its coroutines, which iter.Pull
		// runs on the resumer's thread) on one, registered with the
		// signal handler. A thread attached to a hybrid or preemptive
		// world is registered already.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if s.rec = asyncsuspend.RecordOf(asyncsuspend.Gettid()); s.rec == nil && arch.Supported() {
			rec, err := asyncsuspend.Register(goid.Current())
			if err != nil {
				return err
			}
			s.rec = rec
			defer rec.Unregister()
		}
	}
	s.thread = th
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	// The context is looked at before every resume (a non-blocking
	// receive, a few nanoseconds); a watcher reaches the coroutine that
	// runs when it ends. current is the entry being resumed or last
	// resumed: it is stored before the look, so a context that ends after
	// the look finds the coroutine that is about to run, or runs. It is
	// this Run's own, so a watcher still running after Run returned
	// cannot touch a later Run's coroutines.
	var current atomic.Pointer[entry]
	done := ctx.Done()
	defer context.AfterFunc(ctx, func() { interrupt(&current) })()
	for {
		s.admit()
		s.dueTimers()
		if e := s.ready.pop(); e != nil {
			current.Store(e)
			select {
			case <-done:
				s.ready.push(e) // closeAll closes it with the others
				return ctx.Err()
			default:
			}
			// Resume polls the thread first: that is the safepoint
			// between coroutines.
			s.runOne(e)
			continue
		}
		if s.live == 0 {
			return nil
		}
		if err := s.idle(ctx); err != nil {
			return err
		}
	}
}

// interrupt is Run's context watcher: it cancels the coroutine that runs,
// at its next Poll. Run resumes nothing once it has seen the context end,
// so a coroutine that keeps polling cannot hold Run past that Poll. It
// may instead reach a coroutine that has just switched out (current is
// not cleared between resumes): that one is closed with the others.
func interrupt(current *atomic.Pointer[entry]) {
	if e := current.Load(); e != nil {
		e.co.RequestCancel()
	}
}

// admit moves submitted coroutines into the ready queue, and refuses
// those bound to another thread than the scheduler's.
func (s *Scheduler) admit() {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, e := range pending {
		if err := e.co.cfg.err; err != nil {
			s.live++
			e.co.refuse(fmt.Errorf("coroutine %q: %w", e.co.cfg.name, err))
			s.finish(e)
			continue
		}
		if t := e.co.cfg.thread; t != nil && t != s.thread {
			runsAs := "no thread (it has no WithWorld)"
			if s.thread != nil {
				runsAs = fmt.Sprintf("thread %q", s.thread.Name())
			}
			s.live++
			e.co.refuse(fmt.Errorf("coroutine %q: WithThread(%q): scheduler %q runs its coroutines as %s: %w",
				e.co.cfg.name, t.Name(), s.cfg.name, runsAs, ErrForeignThread))
			s.finish(e)
			continue
		}
		e.co.cfg.thread = s.thread
		e.co.cfg.rec = s.rec
		e.co.plain = e.co.plain && s.thread == nil
		s.live++
		s.push(e)
	}
}

// push queues e as ready. A coroutine that comes back from a yield, a
// preemption, a delay or a blocking call moves to Ready first; the move
// is checked (a delay must be due, a call must have returned).
func (s *Scheduler) push(e *entry) {
	if st := e.co.Status(); st == Suspended || st == Syscall {
		if err := e.co.ready(); err != nil {
			panic(fmt.Sprintf("coopsuspend: scheduler %q: %v", s.cfg.name, err)) // the scheduler's own bug
		}
	}
	s.seq++
	e.seq = s.seq
	s.ready.push(e)
}

func (s *Scheduler) dueTimers() {
	now := time.Now()
	for s.timers.len() > 0 && !s.timers.first().co.state.WakeAt.After(now) {
		s.push(s.timers.pop())
	}
}

// runOne resumes e and files it by the state it comes back in.
func (s *Scheduler) runOne(e *entry) {
	s.mu.Lock()
	cancelled := e.cancelled
	s.mu.Unlock()
	if cancelled && e.co.Status() != Running {
		s.close(e)
		s.finish(e)
		return
	}
	st, err := e.co.Resume(struct{}{})
	if err != nil {
		panic(fmt.Sprintf("coopsuspend: scheduler %q: %v", s.cfg.name, err)) // the scheduler's own bug
	}
	switch st.Status {
	case Suspended:
		if st.WakeAt.IsZero() || !st.WakeAt.After(time.Now()) {
			s.push(e) // a yield or a preemption: the tail of its priority
		} else {
			s.timers.push(e)
		}
	case Syscall:
		s.blocked++
		go s.runBlocking(e, e.co.takeBlocking())
	default:
		s.finish(e)
	}
}

// runBlocking runs e's blocking call on its own goroutine and hands e
// back to Run however the call ends. A panic (or runtime.Goexit) is
// recovered here, where nothing could handle it, and raised again in the
// body when Run resumes it: the coroutine fails as if its body had
// panicked, and the process goes on.
func (s *Scheduler) runBlocking(e *entry, fn func()) {
	returned := false
	defer func() {
		if !returned {
			r := recover() // nil after runtime.Goexit: panic(nil) recovers a *runtime.PanicNilError
			if r == nil {
				r = fmt.Errorf("coroutine %q: its blocking call called runtime.Goexit", e.co.cfg.name)
			}
			e.co.blockingPanic = &callPanic{value: r, stack: debug.Stack()}
		}
		e.co.blockingDone.Store(true)
		s.unblock <- e
	}()
	fn()
	returned = true
}

// finish files a finished coroutine's result: with the Joins waiting for
// it, or else kept for a later Result or Join, dropping the oldest unread
// results past the limit.
func (s *Scheduler) finish(e *entry) {
	s.live--
	st := e.co.result()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, e.id)
	if js := s.joiners[e.id]; len(js) > 0 {
		for _, ch := range js {
			ch <- st
		}
		delete(s.joiners, e.id)
		return
	}
	s.results[e.id] = st
	s.resultOrder = append(s.resultOrder, e.id)
	if limit := s.cfg.resultLimit; limit > 0 {
		for len(s.results) > limit {
			delete(s.results, s.resultOrder[0])
			s.resultOrder = s.resultOrder[1:]
		}
	}
	// resultOrder also holds ids read meanwhile: compact it when it has
	// grown well past what is kept.
	if len(s.resultOrder) > 2*len(s.results)+64 {
		s.resultOrder = slices.DeleteFunc(s.resultOrder, func(id uint64) bool {
			_, kept := s.results[id]
			return !kept
		})
	}
}

// idle waits for something to do: a blocking call's return, the next
// timer, a Submit or Cancel, or ctx's end; inside a blocking region of the
// scheduler's thread, so that a stop of the world does not wait for it.
func (s *Scheduler) idle(ctx context.Context) error {
	var timer <-chan time.Time
	if s.timers.len() > 0 {
		t := time.NewTimer(time.Until(s.timers.first().co.state.WakeAt))
		defer t.Stop()
		timer = t.C
	}
	var err error
	wait := func() {
		select {
		case e := <-s.unblock:
			s.blocked--
			s.push(e)
		case <-timer:
		case <-s.wake:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if s.thread != nil {
		safepoint.Blocking(s.thread, wait)
	} else {
		wait()
	}
	return err
}

// close ends e, which is not running and not in a blocking call, so
// its Close cannot be refused; a refusal (the scheduler's own bug) is
// kept for Run's error rather than lost.
func (s *Scheduler) close(e *entry) {
	if err := e.co.Close(); err != nil {
		s.closeErrs = append(s.closeErrs, err)
	}
}

// closeAll ends every unfinished coroutine after Run gave up. A
// coroutine in a blocking call is closed only once the call has returned
// (its body must not unwind under the call); the wait for that is inside
// a blocking region of the scheduler's thread, like idle's.
func (s *Scheduler) closeAll() {
	for e := s.ready.pop(); e != nil; e = s.ready.pop() {
		s.close(e)
		s.finish(e)
	}
	for s.timers.len() > 0 {
		e := s.timers.pop()
		s.close(e)
		s.finish(e)
	}
	for ; s.blocked > 0; s.blocked-- {
		var e *entry
		wait := func() { e = <-s.unblock }
		if s.thread != nil {
			safepoint.Blocking(s.thread, wait)
		} else {
			wait()
		}
		s.close(e) // its blocking call has returned
		s.finish(e)
	}
}

// byPriority orders the ready queue: priority, then submission (FIFO).
func byPriority(a, b *entry) bool {
	if a.priority != b.priority {
		return a.priority < b.priority
	}
	return a.seq < b.seq
}

// byWakeAt orders the timers.
func byWakeAt(a, b *entry) bool { return a.co.state.WakeAt.Before(b.co.state.WakeAt) }

// queue is a priority queue of entries in less's order.
type queue struct {
	es   []*entry
	less func(a, b *entry) bool
}

func (q *queue) push(e *entry) { heap.Push(q, e) }
func (q *queue) len() int      { return len(q.es) }
func (q *queue) first() *entry { return q.es[0] }

// pop removes the first entry; nil when the queue is empty.
func (q *queue) pop() *entry {
	if len(q.es) == 0 {
		return nil
	}
	return heap.Pop(q).(*entry)
}

// Len, Less, Swap, Push and Pop are for container/heap only.
func (q *queue) Len() int           { return len(q.es) }
func (q *queue) Less(i, j int) bool { return q.less(q.es[i], q.es[j]) }
func (q *queue) Swap(i, j int)      { q.es[i], q.es[j] = q.es[j], q.es[i] }
func (q *queue) Push(x any)         { q.es = append(q.es, x.(*entry)) }
func (q *queue) Pop() any {
	e := q.es[len(q.es)-1]
	q.es[len(q.es)-1] = nil
	q.es = q.es[:len(q.es)-1]
	return e
}
