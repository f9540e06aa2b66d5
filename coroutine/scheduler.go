package coroutine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// taskCoroutine is what a Scheduler runs: a coroutine that takes and
// yields nothing and returns any value.
type taskCoroutine = Coroutine[struct{}, struct{}, any]

// Scheduler runs coroutines on R runner goroutines (WithRunners; the
// default is GOMAXPROCS): the goroutine that calls Run is the first, and
// Run starts the others. With more than one runner, coroutines run in
// parallel: what they share needs synchronization, as goroutines do.
// WithRunners(1) runs them one at a time, in one strict order.
//
// Each runner has its own ready queue, in priority order and first come,
// first served within a priority, and runs its first coroutine; a
// yielding or preempted coroutine goes to the tail of its priority. A
// runner whose queue is empty takes, in this order, coroutines submitted
// meanwhile, due timers, and then work from the runner whose first
// movable coroutine has the highest priority (of those, the one with the
// most movable work): that coroutine and up to half of the others that
// may move
// (an idle runner is woken whenever a runner has a movable coroutine
// queued, so no runner sits idle while another has one waiting). Delayed
// coroutines wait in one timer heap; those in a blocking call
// (Suspender.Blocking, Sleep) wait for it off the runners while the others
// run, and come back on the runner that last ran them.
//
// A coroutine may move between runners unless the runners are locked to
// their OS threads (a WithWorld whose policy uses signals, or a monitor
// that samples overruns): Go switches to a coroutine only on the thread
// it was created on, so there a coroutine is bound to the runner it first
// ran on, and only coroutines that have not run yet move.
//
// Under WithWorld every runner is a thread of the world, and a coroutine
// polls through the thread of the runner that resumes it: a stop of the
// world waits for the R runners, never for the coroutines that are not
// running, however many there are.
//
// A runner whose coroutine runs longer than the hand-off time without
// switching out (a loop without a Poll; see WithHandoff) is handed off: a
// new runner takes over its queue, so the other coroutines go on, and the
// stuck runner leaves once its coroutine switches out and no coroutine is
// bound to it.
//
// Submit, Cancel, Suspend, Resume, Result and Join may be called from any
// goroutine.
type Scheduler struct {
	cfg config

	// runners are the runners of the Run in progress (copy on write: a
	// hand-off appends one); nil outside Run.
	runners atomic.Pointer[[]*runner]
	wg      sync.WaitGroup // the runners Run started, hand-offs included

	// idlers is len(idle), written under mu: notify reads it without the
	// lock, so that a push finds no idle runner to wake without taking mu.
	idlers atomic.Int32

	mu      sync.Mutex // guards what follows
	running bool       // Run is in progress
	// interrupted is set by a runner that left because Run's context
	// ended: Run then returns the context's error.
	interrupted bool
	nextID      uint64
	pending     []*entry // submitted, not yet admitted by a runner
	byID        map[uint64]*entry
	live        int // admitted and not finished
	timers      timerHeap
	parked      map[uint64]*entry    // set aside by Suspend
	idle        map[*runner]struct{} // runners waiting for work: see markIdle
	blocked     map[*entry]struct{}  // in a blocking call
	// results holds the finished coroutines' results until they are read
	// (Result, Join); resultOrder is their ids in the order they
	// finished, for dropping the oldest past the limit (an id whose
	// result was read meanwhile is skipped there). joiners are the Joins
	// waiting for a coroutine that has not finished: they get its result
	// instead of results.
	results     map[uint64]Outcome[struct{}, any]
	resultOrder []uint64
	joiners     map[uint64][]chan Outcome[struct{}, any]
	// closeErrs are the refusals of closes that cannot be refused (a
	// Ready or Suspended coroutine); Run returns them.
	closeErrs []error
}

// entry is one submitted coroutine.
//
// Where it is, at any moment, is exactly one of: pending, a runner's
// queue, running on a runner (running), the timers, a blocking call
// (blocked), set aside by Suspend (parked), or finished.
type entry struct {
	id       uint64
	co       *taskCoroutine
	priority int

	// home is the runner a coroutine is bound to (it first ran on a
	// locked runner), nil if it may move; set once, by that runner,
	// while it runs. last is the runner that last resumed it, where it
	// comes back after a blocking call.
	home, last *runner

	// mu guards what follows. It is taken after the scheduler's mu when
	// both are needed. A runner takes only mu to resume e and to file it
	// afterwards, unless a Suspend holds e: then it takes the scheduler's
	// mu too (s.parked). The hand-over with Suspend stays exact because
	// both sides decide under mu: either Suspend sees running and waits
	// for the switch out, or the runner sees paused and sets e aside
	// instead of resuming it.
	mu        sync.Mutex
	cancelled bool
	paused    bool            // Suspend took it out, until Resume
	running   bool            // a runner is resuming it
	pauseDone []chan struct{} // Suspends waiting for it to switch out
}

// switchedOut records that e no longer runs, and releases the Suspends
// waiting for that; the caller holds e.mu.
func (e *entry) switchedOut() {
	e.running = false
	for _, c := range e.pauseDone {
		close(c)
	}
	e.pauseDone = nil
}

// ErrForeignThread is wrapped by the error of a coroutine submitted
// WithThread: a scheduler's coroutines run as the thread of whichever
// runner resumes them (WithWorld) or as none, and a coroutine bound to a
// thread of its own would poll a thread it does not run on.
var ErrForeignThread = errors.New("a scheduler's coroutine cannot be bound to a thread of its own")

// ErrNotSuspended is wrapped by the error of a Resume of a coroutine
// that no Suspend holds.
var ErrNotSuspended = errors.New("the coroutine is not suspended")

// NewScheduler returns an empty scheduler. Options: WithName, WithWorld,
// WithMonitor, WithRunners, WithHandoff, WithResultLimit, and
// WithListener (added to every coroutine it runs).
func NewScheduler(opts ...Option) *Scheduler {
	s := &Scheduler{
		byID:    map[uint64]*entry{},
		results: map[uint64]Outcome[struct{}, any]{},
		joiners: map[uint64][]chan Outcome[struct{}, any]{},
		parked:  map[uint64]*entry{},
		idle:    map[*runner]struct{}{},
		blocked: map[*entry]struct{}{},
	}
	s.cfg.name = "scheduler"
	s.cfg.resultLimit = DefaultResultLimit
	s.cfg.err = s.cfg.applyOptions(forScheduler, opts)
	switch {
	case s.cfg.err != nil:
	case s.cfg.resultLimit < 0:
		s.cfg.err = fmt.Errorf("coroutine: NewScheduler: negative result limit %d: use 0 for none", s.cfg.resultLimit)
	case s.cfg.runners < 0:
		s.cfg.err = fmt.Errorf("coroutine: NewScheduler: WithRunners(%d): a scheduler needs at least one runner", s.cfg.runners)
	case s.cfg.handoff < 0:
		s.cfg.err = fmt.Errorf("coroutine: NewScheduler: negative hand-off time %v: use 0 for none", s.cfg.handoff)
	case !s.cfg.handoffSet && s.cfg.monitor != nil:
		// A preempted coroutine switches out at its first Poll after the
		// slice, which the monitor sees within a tick or so: the margin
		// past the slice (WithOverrun), or ten slices, is well past that.
		s.cfg.handoff = s.cfg.monitor.Slice() + s.cfg.monitor.Margin()
		if s.cfg.monitor.Margin() == 0 {
			s.cfg.handoff = 11 * s.cfg.monitor.Slice()
		}
	}
	return s
}

// Task is the handle a scheduled coroutine's body gets: a Suspender that
// yields nothing and is resumed with nothing. A task's body is
// func(s *Task) any.
type Task = Suspender[struct{}, struct{}]

// Submit adds a coroutine running fn and returns its id. Options: WithName,
// WithPriority, WithListener (added to the scheduler's own). WithThread
// does not apply: the coroutine would end Failed, without running, with
// an error that wraps ErrForeignThread.
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
	s.notify(nil, true)
	return id
}

// Cancel ends the coroutine id: at once if it has not run yet or is
// waiting (a suspended one included), at its next Poll if it is running.
// It reports false if no unfinished coroutine has that id.
func (s *Scheduler) Cancel(id uint64) bool {
	s.mu.Lock()
	e, ok := s.byID[id]
	var back *entry
	if ok {
		// A cancellation overrides a Suspend: the coroutine is closed
		// (or cancelled at its next Poll) wherever it is.
		e.mu.Lock()
		e.cancelled = true
		e.paused = false
		e.mu.Unlock()
		e.co.RequestCancel()
		if _, parked := s.parked[id]; parked {
			delete(s.parked, id)
			back = e
		}
		// A delayed one is closed now, not when its delay is due (a
		// runner files a delayed coroutine under mu, and leaves a
		// cancelled one out of the timers: see runOne).
		if len(s.timers.takeWhere(func(x *entry) bool { return x == e })) > 0 {
			back = e
		}
	}
	s.mu.Unlock()
	if back != nil {
		s.enqueue(back, nil) // a runner closes it
	}
	s.notify(nil, true)
	return ok
}

// Suspend takes coroutine id out of the scheduler, a debugger's pause:
// it returns once the coroutine is not running and will not be resumed
// until Resume(id). A running coroutine is asked to suspend at its next
// Poll (or switches out by itself at a yield or a blocking call), and
// Suspend waits for that until ctx ends; then it withdraws the request and
// returns ctx's error. A coroutine in a blocking call is suspended at
// once: it runs no guest code, and is set aside when the call returns.
// A coroutine that finishes while Suspend waits for it is not running
// either: Suspend returns nil, and there is nothing to Resume.
//
// After Suspend returns, the caller may read everything the coroutine did
// before it switched out: the switch back to its runner, and the runner's
// filing of it under the coroutine's lock, come before Suspend's return.
func (s *Scheduler) Suspend(ctx context.Context, id uint64) error {
	s.mu.Lock()
	e, ok := s.byID[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("coroutine: Suspend(%d) on scheduler %q: no unfinished coroutine has that id", id, s.cfg.name)
	}
	e.mu.Lock()
	if e.paused {
		e.mu.Unlock()
		s.mu.Unlock()
		return fmt.Errorf("coroutine: Suspend(%d) on scheduler %q: coroutine %q is suspended already", id, s.cfg.name, e.co.cfg.name)
	}
	e.paused = true
	if !e.running {
		e.mu.Unlock()
		s.mu.Unlock()
		return nil // a runner sets it aside instead of resuming it
	}
	done := make(chan struct{})
	e.pauseDone = append(e.pauseDone, done)
	e.co.RequestPreemption()
	e.mu.Unlock()
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.mu.Lock()
		defer e.mu.Unlock()
		select {
		case <-done:
			return nil
		default:
		}
		e.paused = false
		e.pauseDone = slices.DeleteFunc(e.pauseDone, func(c chan struct{}) bool { return c == done })
		return fmt.Errorf("coroutine: Suspend(%d) on scheduler %q: coroutine %q did not switch out: %w",
			id, s.cfg.name, e.co.cfg.name, context.Cause(ctx))
	}
}

// Resume undoes Suspend: coroutine id is ready again (on the runner it is
// bound to, or any). It returns an error wrapping ErrNotSuspended, and
// changes nothing, if no Suspend holds the coroutine.
func (s *Scheduler) Resume(id uint64) error {
	s.mu.Lock()
	e, ok := s.byID[id]
	if ok {
		e.mu.Lock()
		ok = e.paused
		e.paused = false
		e.mu.Unlock()
	}
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("coroutine: Resume(%d) on scheduler %q: %w", id, s.cfg.name, ErrNotSuspended)
	}
	_, parked := s.parked[id]
	delete(s.parked, id)
	s.mu.Unlock()
	if parked {
		s.enqueue(e, nil)
	}
	return nil
}

// Result returns the final state of coroutine id and forgets it: it
// reports false if the coroutine has not finished, or its result was read
// already (by Result or Join), or dropped past the scheduler's result
// limit (WithResultLimit).
func (s *Scheduler) Result(id uint64) (Outcome[struct{}, any], bool) {
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
func (s *Scheduler) Join(ctx context.Context, id uint64) (Outcome[struct{}, any], error) {
	s.mu.Lock()
	if st, ok := s.results[id]; ok {
		delete(s.results, id)
		s.mu.Unlock()
		return st, nil
	}
	if _, live := s.byID[id]; !live {
		s.mu.Unlock()
		return Outcome[struct{}, any]{}, fmt.Errorf("coroutine: Join(%d) on scheduler %q: %w: no such coroutine, "+
			"or its result was read or dropped", id, s.cfg.name, ErrNoResult)
	}
	ch := make(chan Outcome[struct{}, any], 1)
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
		s.joiners[id] = slices.DeleteFunc(s.joiners[id], func(c chan Outcome[struct{}, any]) bool { return c == ch })
		if len(s.joiners[id]) == 0 {
			delete(s.joiners, id)
		}
		return Outcome[struct{}, any]{}, fmt.Errorf("coroutine: Join(%d) on scheduler %q: %w", id, s.cfg.name, context.Cause(ctx))
	}
}

// Run runs the submitted coroutines until every one has finished
// (Complete, Failed or Cancelled), including those submitted meanwhile;
// a coroutine held by Suspend keeps Run running until Resume or Cancel.
// One Run at a time: a second one returns an error at once.
//
// If ctx ends first, Run resumes nothing more: the coroutines that run
// are cancelled at their next Poll (or end their turn by a yield, a
// preemption or a blocking call), the others are closed (Cancelled, their
// deferred calls run), and Run returns ctx's error. A coroutine whose
// blocking call is still out is closed when the call returns, never under
// it, and Run waits for that.
//
// Under WithWorld each runner attaches its goroutine to the world for the
// duration, polls between coroutines, and does all its waiting (idle, or
// for blocking calls while closing) inside blocking regions, so a stop of
// the world never waits for it. The first runner is Run's own goroutine,
// attached before any other runner starts: if that fails (the goroutine
// is attached already), Run returns the error and nothing has run.
func (s *Scheduler) Run(ctx context.Context) (err error) {
	if s.cfg.err != nil {
		return fmt.Errorf("coroutine: scheduler %q: %w", s.cfg.name, s.cfg.err)
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return fmt.Errorf("coroutine: scheduler %q: Run is running already", s.cfg.name)
	}
	s.running, s.interrupted = true, false
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()
	if m := s.cfg.monitor; m != nil {
		if err := m.Start(); err != nil {
			return err
		}
	}
	n := s.cfg.runners
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	rs := make([]*runner, n)
	for i := range rs {
		rs[i] = newRunner(s, s.runnerName(i))
	}
	s.runners.Store(&rs)
	defer s.runners.Store(nil)
	defer func() {
		s.mu.Lock()
		err = joinErr(err, errors.Join(s.closeErrs...))
		s.closeErrs = nil
		s.mu.Unlock()
	}()
	// The first runner sets up on this goroutine before any other runner
	// starts, so that a failure (this goroutine is attached already)
	// leaves nothing run.
	release, err := rs[0].setUp()
	if err != nil {
		return err
	}
	defer context.AfterFunc(ctx, s.interrupt)()
	errs := make(chan error, 1<<10)
	stopWatch := func() {}
	if s.cfg.handoff > 0 {
		stopWatch = s.watch(ctx, errs)
	}
	for _, r := range rs[1:] {
		s.start(ctx, r, errs)
	}
	first := rs[0].loop(ctx)
	// Detached before the wait: a thread that waits here, outside a
	// blocking region, would hold up every stop of the world.
	release()
	stopWatch() // no runner starts after this, so the wait below is for all of them
	s.wg.Wait()
	close(errs)
	for e := range errs {
		first = joinErr(first, e)
	}
	s.mu.Lock()
	interrupted := s.interrupted
	s.mu.Unlock()
	if interrupted && !errors.Is(first, ctx.Err()) {
		first = joinErr(ctx.Err(), first)
	}
	return first
}

// start runs r on a goroutine of its own, counted in s.wg.
func (s *Scheduler) start(ctx context.Context, r *runner, errs chan<- error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		release, err := r.setUp()
		if err == nil {
			defer release()
			err = r.loop(ctx)
		} else {
			s.retire(r) // its share goes to the others
		}
		if err != nil && !errors.Is(err, ctx.Err()) {
			select {
			case errs <- fmt.Errorf("coroutine: scheduler %q: runner %q: %w", s.cfg.name, r.name, err):
			default:
			}
		}
	}()
}

func (s *Scheduler) runnerName(i int) string {
	if s.cfg.runners == 1 {
		return s.cfg.name
	}
	return fmt.Sprintf("%s/%d", s.cfg.name, i)
}

// runnersNow returns the runners of the Run in progress.
func (s *Scheduler) runnersNow() []*runner {
	if p := s.runners.Load(); p != nil {
		return *p
	}
	return nil
}

// interrupt is Run's context watcher: it cancels the coroutines that run,
// at their next Poll. The runners resume nothing once they have seen the
// context end, so a coroutine that keeps polling cannot hold Run past
// that Poll. It may instead reach a coroutine that has just switched out
// (a runner's current is not cleared between resumes): that one is
// closed with the others.
func (s *Scheduler) interrupt() {
	for _, r := range s.runnersNow() {
		if e := r.current.Load(); e != nil {
			e.co.RequestCancel()
		}
	}
	s.wakeAll()
}

// admit moves submitted coroutines into the runners' queues, an equal
// share of each priority to r and to each other open runner, and refuses
// those bound to a thread of their own.
//
// Shared out, not all queued on r: a runner steals only when its queue is
// empty, so with all of them on r another runner would steal once, early,
// and then cycle through that share for good while r cycles through the
// rest (BenchmarkPoolFairness with 10,000 coroutines: a tenth of them ran
// five slices while half had none). A share of each priority, so that no
// runner is left with only low-priority work while another queues high.
// Each share is a run of consecutive submissions, not every R-th one:
// coroutines submitted one after another sit side by side in memory, and
// two runners resuming neighbours would fight over their cache lines
// (PoolThroughput: R=2 lost a quarter of its speed dealt one by one).
func (s *Scheduler) admit(r *runner) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.live += len(pending)
	s.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	others := slices.DeleteFunc(slices.Clone(s.runnersNow()), func(o *runner) bool { return o == r || !o.open() })
	deal := append([]*runner{r}, others...)
	shares := make([][]*entry, len(deal))
	slices.SortStableFunc(pending, func(a, b *entry) int { return cmp.Compare(a.priority, b.priority) })
	for first := 0; first < len(pending); {
		end := first + 1
		for end < len(pending) && pending[end].priority == pending[first].priority {
			end++
		}
		for i, e := range pending[first:end] {
			if s.admissible(e) {
				k := i * len(deal) / (end - first)
				shares[k] = append(shares[k], e)
			}
		}
		first = end
	}
	// The other runners' shares first, each queued whole, and r's last,
	// before anyone is woken: a runner that steals meanwhile finds r's
	// queue as it was, not a share half queued (a runner woken by the
	// first push once stole r's first high-priority coroutine, and r then
	// ran a low-priority one while the other high-priority ones waited
	// behind the thief's).
	for k := len(deal) - 1; k >= 1; k-- {
		if !deal[k].pushAll(shares[k]) {
			shares[0] = append(shares[0], shares[k]...) // it has left: r takes its share
			shares[k] = nil
		}
	}
	r.pushAll(shares[0]) // r runs this: it has not left
	for k, to := range deal {
		if len(shares[k]) > 0 {
			s.notify(to, true)
		}
	}
}

// admissible refuses a submitted coroutine that cannot run (a bad option,
// or bound to a thread of its own), and reports whether it may be queued.
func (s *Scheduler) admissible(e *entry) bool {
	if err := e.co.cfg.err; err != nil {
		e.co.refuse(fmt.Errorf("coroutine %q: %w", e.co.cfg.name, err))
		s.finish(e)
		return false
	}
	if t := e.co.cfg.thread; t != nil {
		e.co.refuse(fmt.Errorf("coroutine %q: WithThread(%q): scheduler %q runs its coroutines as the thread of whichever runner resumes them: %w",
			e.co.cfg.name, t.Name(), s.cfg.name, ErrForeignThread))
		s.finish(e)
		return false
	}
	e.co.plain = e.co.plain && s.cfg.world == nil
	return true
}

// dueTimers moves the coroutines whose delay has passed to a ready queue:
// their home runner's, or r's.
func (s *Scheduler) dueTimers(r *runner) {
	now := time.Now()
	var due []*entry
	s.mu.Lock()
	for s.timers.len() > 0 && !s.timers.first().co.state.WakeAt.After(now) {
		due = append(due, s.timers.pop())
	}
	s.mu.Unlock()
	for _, e := range due {
		switch {
		case s.setAside(e):
		case e.home != nil || r.retired.Load():
			s.enqueue(e, r)
		default:
			r.push(e) // r runs this: it has not left
		}
	}
}

// nextTimer returns how long until the first timer is due, 0 if none;
// the caller holds mu.
func (s *Scheduler) nextTimer() time.Duration {
	if s.timers.len() == 0 {
		return 0
	}
	return max(time.Until(s.timers.first().co.state.WakeAt), time.Nanosecond)
}

// markIdle records r as waiting for work; the caller holds mu.
//
// No work is left waiting beside an idle runner: a runner marks itself
// idle, then looks for work once more (under each queue's lock, and mu
// for the submitted coroutines and timers) before it sleeps; whoever
// queues work does so under that queue's lock (or mu), then reads idlers.
// Whichever lock the two meet at orders them: either the runner's second
// look finds the work, or the mark precedes the read, notify sees an idle
// runner and wakes one (a runner's wake channel keeps a post that comes
// before its wait).
func (s *Scheduler) markIdle(r *runner) {
	s.idle[r] = struct{}{}
	s.idlers.Store(int32(len(s.idle)))
}

// unmarkIdle removes r from the idle runners; the caller holds mu.
func (s *Scheduler) unmarkIdle(r *runner) {
	delete(s.idle, r)
	s.idlers.Store(int32(len(s.idle)))
}

// notify wakes target if it is idle, or else, if the work just queued may
// move (or was submitted: target nil), any idle runner, which then takes
// it. The caller has queued the work already (see markIdle).
func (s *Scheduler) notify(target *runner, movable bool) {
	if s.idlers.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if target != nil {
		if _, ok := s.idle[target]; ok {
			s.unmarkIdle(target)
			target.signal()
			return
		}
	}
	if !movable {
		return
	}
	for r := range s.idle {
		s.unmarkIdle(r)
		r.signal()
		return
	}
}

// notifyTimer wakes an idle runner to look at the timers again: a new
// timer may be due before the one it sleeps for.
func (s *Scheduler) notifyTimer() { s.notify(nil, true) }

// wakeAll wakes every idle runner (to leave, or to look again).
func (s *Scheduler) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.idle {
		s.unmarkIdle(r)
		r.signal()
	}
}

// requeue puts e, which has just switched out on r (and which no
// Suspend holds: setAside), back on a ready queue: its home's, r's, or,
// if r was retired meanwhile, another runner's.
func (s *Scheduler) requeue(r *runner, e *entry) {
	if e.home == nil && !r.retired.Load() {
		r.push(e) // r runs this: it has not left
		return
	}
	s.enqueue(e, r)
}

// enqueue puts e on a ready queue: its home runner's, else the runner
// that last ran it unless retired, else the first runner not retired; a
// runner that has left is passed over (TestCancelWhileHandingOff: a
// handed-off runner requeued a coroutine on a runner that had closed its
// own and left, and Run ended with the coroutine in no one's hands).
// caller is the runner that calls, if one does: with no runner left to
// take e, it queues e itself (it has not left, since it runs this) and
// so runs or closes it. Otherwise, with no Run in progress, or every
// runner gone, e waits for the next Run, as submitted.
func (s *Scheduler) enqueue(e *entry, caller *runner) {
	for {
		r := s.destination(e)
		if r == nil {
			break
		}
		if r.push(e) {
			return
		}
		if r == e.home {
			break // bound to a runner that has left: only the fallbacks remain
		}
	}
	if caller != nil && (e.home == nil || e.home == caller) && caller.push(e) {
		return
	}
	s.mu.Lock()
	s.live--
	s.pending = append(s.pending, e)
	s.mu.Unlock()
}

// destination is the runner whose ready queue e goes to: its home runner,
// else the runner that last ran it unless retired, else the first runner
// not retired; nil with no Run in progress.
func (s *Scheduler) destination(e *entry) *runner {
	if e.home != nil {
		return e.home
	}
	rs := s.runnersNow()
	if r := e.last; r != nil && r.open() && slices.Contains(rs, r) {
		return r
	}
	for _, r := range rs {
		if r.open() {
			return r
		}
	}
	return nil
}

// open reports whether r takes new work: it was not retired and has not
// left.
func (r *runner) open() bool { return !r.retired.Load() && !r.left.Load() }

// setAside sets e aside, if a Suspend holds it, instead of queueing it,
// and tells the Suspends waiting for it that it switched out. It reports
// whether it did.
func (s *Scheduler) setAside(e *entry) bool {
	e.mu.Lock()
	if !e.paused && len(e.pauseDone) == 0 {
		e.running = false // the common case: no Suspend, no global lock
		e.mu.Unlock()
		return false
	}
	e.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.switchedOut()
	if !e.paused {
		return false // a Resume or a Cancel came in between
	}
	s.parked[e.id] = e
	return true
}

// delay files e, which has just switched out in a Delay that is not due,
// with the timers; unless it was cancelled: then it reports false, and
// the caller queues it instead, to be closed at once. Cancel looks for a
// cancelled coroutine in the timers under the same lock.
func (s *Scheduler) delay(e *entry) bool {
	s.mu.Lock()
	e.mu.Lock()
	cancelled := e.cancelled
	e.mu.Unlock()
	if !cancelled {
		s.timers.push(e)
	}
	s.mu.Unlock()
	if !cancelled {
		s.notifyTimer()
	}
	return !cancelled
}

// cancelledInDelay reports whether e waits in a Delay and was cancelled:
// it is queued to be closed, and stays Suspended (it is not due, so it
// may not become Ready). The caller owns e (it is in no queue).
func (e *entry) cancelledInDelay() bool {
	if e.co.Status() != Suspended || e.co.state.WakeAt.IsZero() {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cancelled
}

// begin marks e running, as a runner is about to resume it, and returns
// whether it was cancelled; unless a Suspend holds e: then it sets e
// aside (it waits until Resume(id)) and reports run false.
func (s *Scheduler) begin(e *entry) (cancelled, run bool) {
	e.mu.Lock()
	if !e.paused {
		e.running = true
		cancelled = e.cancelled
		e.mu.Unlock()
		return cancelled, true
	}
	e.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.paused {
		s.parked[e.id] = e
		return false, false
	}
	e.running = true // a Resume or a Cancel came in between
	return e.cancelled, true
}

// takeTimers removes the timers for which take reports true.
func (s *Scheduler) takeTimers(take func(*entry) bool) []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timers.takeWhere(take)
}

// takeParked removes the coroutines set aside by Suspend for which take
// reports true.
func (s *Scheduler) takeParked(take func(*entry) bool) []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var taken []*entry
	for id, e := range s.parked {
		if take(e) {
			taken = append(taken, e)
			delete(s.parked, id)
		}
	}
	return taken
}

// responsible reports whether r closes e when Run gives up: r is where e
// would be queued (a coroutine in a blocking call is queued there when
// the call returns).
func (s *Scheduler) responsible(r *runner, e *entry) bool { return s.destination(e) == r }

// blockedFor counts the coroutines in a blocking call that r closes when
// Run gives up; the caller holds mu.
func (s *Scheduler) blockedFor(r *runner) int {
	n := 0
	for e := range s.blocked {
		if s.responsible(r, e) {
			n++
		}
	}
	return n
}

// retire stops r taking new work (a hand-off, or a runner that could not
// set up): the coroutines it may give away move to the other runners.
func (s *Scheduler) retire(r *runner) {
	r.retired.Store(true)
	r.mu.Lock()
	moved := r.ready.takeWhere(stealable)
	r.mu.Unlock()
	for _, e := range moved {
		s.enqueue(e, nil)
	}
}

// watch is the hand-off watchdog: a runner whose coroutine has run longer
// than the hand-off time without switching out is retired, and a new
// runner takes its place. It returns a function that stops the watchdog.
func (s *Scheduler) watch(ctx context.Context, errs chan<- error) (stop func()) {
	t := time.NewTicker(max(s.cfg.handoff/4, time.Millisecond))
	done := make(chan struct{})
	stopped := make(chan struct{})
	next := len(s.runnersNow())
	// seen is, per runner, the turn the watchdog last saw and since when.
	type sighting struct {
		turn  uint64
		since time.Time
	}
	seen := map[*runner]sighting{}
	go func() {
		defer close(stopped)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := time.Now()
			for _, r := range s.runnersNow() {
				turn := r.turn.Load()
				last, ok := seen[r]
				if !ok || last.turn != turn {
					seen[r] = sighting{turn, now}
					continue
				}
				if r.retired.Load() || turn%2 == 0 || now.Sub(last.since) < s.cfg.handoff {
					continue
				}
				if r.thread != nil && r.thread.Held() {
					// Stopped by the world (or a SuspendThread), not
					// stuck: its coroutine's time starts again.
					seen[r] = sighting{turn, now}
					continue
				}
				fresh := newRunner(s, fmt.Sprintf("%s/%d", s.cfg.name, next))
				next++
				for { // loopcheck:ok a compare-and-swap retry: only Run's end also stores runners
					old := s.runners.Load()
					rs := append(slices.Clip(*old), fresh)
					if s.runners.CompareAndSwap(old, &rs) {
						break
					}
				}
				s.retire(r)
				s.start(ctx, fresh, errs)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// runBlocking runs e's blocking call on its own goroutine and hands e
// back to a runner however the call ends. A panic (or runtime.Goexit) is
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
		s.mu.Lock()
		delete(s.blocked, e)
		s.mu.Unlock()
		s.enqueue(e, nil) // or set aside, by the runner that pops it, if a Suspend holds it
	}()
	fn()
	returned = true
}

// finish files a finished coroutine's result: with the Joins waiting for
// it, or else kept for a later Result or Join, dropping the oldest unread
// results past the limit.
func (s *Scheduler) finish(e *entry) {
	st := e.co.result()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live--
	if e.home != nil {
		e.home.bound--
	}
	if s.live == 0 && len(s.pending) == 0 || e.home != nil && e.home.bound == 0 && e.home.retired.Load() {
		// Every coroutine has finished (or a retired runner's last bound
		// one has): the idle runners may leave.
		for r := range s.idle {
			s.unmarkIdle(r)
			r.signal()
		}
	}
	e.mu.Lock()
	e.switchedOut()
	e.mu.Unlock()
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

// close ends e on runner r. e is not running and not in a blocking call,
// so its Close cannot be refused; a refusal (the scheduler's own bug) is
// kept for Run's error rather than lost. The body unwinds as r's thread,
// as when r resumes it: the thread it last ran as may be another runner's,
// busy with another coroutine.
func (s *Scheduler) close(r *runner, e *entry) {
	e.co.cfg.thread, e.co.cfg.rec = r.thread, r.rec
	if err := e.co.Close(); err != nil {
		s.mu.Lock()
		s.closeErrs = append(s.closeErrs, err)
		s.mu.Unlock()
	}
}

func joinErr(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}
