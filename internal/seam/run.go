//go:build coopmodel

package seam

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coopsuspend/coopsuspend/internal/goid"
)

// A Run is one execution of a program under the explorer: a fixed set
// of goroutines (procs) of which exactly one runs at any moment. A proc
// gives control back only at seam operations; there the run asks its
// strategy which enabled proc goes next. A proc is enabled when it is
// runnable, or parked in a blocking operation that could now complete.
//
// The handoff is a token passed on each proc's wake channel: the
// running proc wakes the next and then waits on its own, so the procs'
// accesses to shared memory are ordered by channel operations (the race
// detector agrees) and no two ever overlap.

// active is the run in progress, if any; seam operations of the
// goroutines it runs go through it.
var active atomic.Pointer[Run]

type procState uint8

const (
	runnable procState = iota
	blocked
	done
)

type proc struct {
	id    int
	name  string
	run   *Run
	wake  chan struct{}
	state procState
	// ready, for a blocked proc, says whether its operation could
	// complete now; ctxWait says the operation also ends when the
	// run's timer fires.
	ready     func() bool
	ctxWait   bool
	blockedOn string
	where     [16]uintptr // the blocked operation's call stack
	body      func()
}

// timerID is the option that fires the run's timer rather than running
// a proc.
const timerID = -1

// A Run is created by the explorer for each execution; the program's
// setup adds procs with Go and may arm a timer with Timeout.
type Run struct {
	procs  []*proc
	byGoid map[uint64]*proc
	cur    *proc // the proc running; nil while the driver is
	ops    int

	strat    strategy
	trace    []int // every decision taken, in order
	steps    int
	maxSteps int

	onStep []func() error

	timer      func()
	timerFired bool

	tokensMu sync.Mutex
	tokens   []*token

	failure  error
	finished chan struct{}
	endOnce  sync.Once
}

// Go adds a goroutine named name running body to the run. Call it from
// the program's setup only.
func (r *Run) Go(name string, body func()) {
	r.procs = append(r.procs, &proc{id: len(r.procs), name: name, run: r, wake: make(chan struct{}, 1)})
	r.procs[len(r.procs)-1].body = body
}

// TimerContext returns a context derived from parent that the run's
// timer cancels with cause: at any step at which some proc waits on a
// context derived from it, the explorer may fire the timer (once). That
// is how a stop's timeout is explored at every point it could strike.
func (r *Run) TimerContext(parent context.Context, cause error) context.Context {
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, timerKey{}, r))
	r.timer = func() { cancel(cause) }
	return ctx
}

type timerKey struct{}

// timed reports whether the run's timer can end ctx.
func (r *Run) timed(ctx context.Context) bool {
	return r.timer != nil && ctx.Done() != nil && ctx.Value(timerKey{}) == r
}

// TimerFired reports whether the timer was fired in this execution.
func (r *Run) TimerFired() bool { return r.timerFired }

// OnStep adds a check run before every scheduling decision and once at
// the end; an error fails the execution.
func (r *Run) OnStep(check func() error) { r.onStep = append(r.onStep, check) }

// Fail fails the execution with err. Called from a proc, it does not
// return: the proc is abandoned where it is, and so are the others.
func (r *Run) Fail(err error) {
	p := r.cur
	r.end(err)
	if p != nil {
		select {} // abandoned; the driver reports the failure
	}
}

// TokenState is a semaphore's state at the end of a run.
type TokenState struct {
	What string
	Full bool
}

// Tokens returns the state of every Token created during the run.
func (r *Run) Tokens() []TokenState {
	r.tokensMu.Lock()
	defer r.tokensMu.Unlock()
	out := make([]TokenState, len(r.tokens))
	for i, t := range r.tokens {
		out[i] = TokenState{What: t.what, Full: t.full()}
	}
	return out
}

// Steps returns the number of scheduling decisions taken so far.
func (r *Run) Steps() int { return r.steps }

// point is every seam operation's first step: for a proc of the active
// run, a scheduling decision; for anyone else, nothing.
//
// The caller is taken to be the proc the run is running (r.cur): while
// a run is active only its procs run seam operations, since the
// explorer's test binary starts no other goroutine that does, and the
// library's stop path starts none. Telling goroutines apart for real
// costs a stack trace (internal/goid), which made exploring three times
// slower; every 64th operation checks the assumption that way.
func point() *proc {
	r := active.Load()
	if r == nil {
		return nil
	}
	p := r.cur
	if p == nil {
		return nil // the driver, before or after the execution
	}
	r.ops++
	if r.ops%64 == 0 && r.byGoid[goid.Current()] != p {
		panic("seam: a goroutine the explorer does not run made a seam operation during an exploration")
	}
	r.schedule(p)
	return p
}

// block parks p until ready() holds. The caller has just passed a
// scheduling point, so if ready() holds now the operation goes ahead
// without another.
func (p *proc) block(ready func() bool, ctxWait bool, what string) {
	if ready() {
		return
	}
	p.state, p.ready, p.ctxWait, p.blockedOn = blocked, ready, ctxWait, what
	runtime.Callers(3, p.where[:])
	p.run.schedule(p)
	p.ready, p.ctxWait = nil, false
}

// choose is a decision that is not a proc's: which of n equally
// possible outcomes an operation has (a select with two ready cases).
func (r *Run) choose(n int, why string) int {
	c := r.strat.choose(n)
	r.trace = append(r.trace, c)
	return c
}

func (p *proc) enabled() bool {
	return p.state == runnable || p.state == blocked && p.ready()
}

// schedule is a scheduling decision taken by cur (nil: the driver, for
// the first one). It returns when cur is chosen to run again; a
// finished cur just hands over.
func (r *Run) schedule(cur *proc) {
	for _, check := range r.onStep {
		if err := check(); err != nil {
			r.Fail(err)
			return // the driver's first decision; a proc never gets here
		}
	}
	r.steps++
	if r.steps > r.maxSteps {
		r.Fail(fmt.Errorf("no end after %d steps: a livelock, or a program longer than the step limit", r.maxSteps))
		return
	}
	for {
		var opts []int
		for _, p := range r.procs {
			if p.enabled() {
				opts = append(opts, p.id)
			}
		}
		if r.timer != nil && !r.timerFired && anyCtxWaiter(r.procs) {
			opts = append(opts, timerID)
		}
		if len(opts) == 0 {
			if r.allDone() {
				r.end(nil)
				return
			}
			r.Fail(r.deadlock())
			return
		}
		curID, curEnabled := -2, false
		if cur != nil {
			curID, curEnabled = cur.id, cur.enabled()
		}
		c := r.strat.pick(curID, curEnabled, opts)
		r.trace = append(r.trace, c)
		if c == timerID {
			r.timerFired = true
			r.timer()
			continue
		}
		next := r.procs[c]
		next.state = runnable
		if next == cur {
			return
		}
		finished := cur != nil && cur.state == done
		r.cur = next
		next.wake <- struct{}{}
		if cur == nil || finished {
			return
		}
		<-cur.wake
		return
	}
}

func anyCtxWaiter(ps []*proc) bool {
	for _, p := range ps {
		if p.state == blocked && p.ctxWait {
			return true
		}
	}
	return false
}

func (r *Run) allDone() bool {
	for _, p := range r.procs {
		if p.state != done {
			return false
		}
	}
	return true
}

// deadlock describes the procs that can never run again.
func (r *Run) deadlock() error {
	var b strings.Builder
	b.WriteString("deadlock: no goroutine can run, and these have not finished:")
	for _, p := range r.procs {
		if p.state == done {
			continue
		}
		fmt.Fprintf(&b, "\n  %s: blocked in %s", p.name, p.blockedOn)
		frames := runtime.CallersFrames(p.where[:])
		for i := 0; i < 6; i++ {
			f, more := frames.Next()
			if f.Function != "" {
				fmt.Fprintf(&b, "\n      %s (%s:%d)", f.Function, shortFile(f.File), f.Line)
			}
			if !more {
				break
			}
		}
	}
	return errors.New(b.String())
}

func shortFile(f string) string {
	if i := strings.LastIndex(f, "/coopsuspend/"); i >= 0 {
		return f[i+len("/coopsuspend/"):]
	}
	return f
}

// end ends the execution, with a failure or not; the first call counts.
func (r *Run) end(err error) {
	r.endOnce.Do(func() {
		r.cur = nil
		r.failure = err
		close(r.finished)
	})
}

// execute runs prog once under strat and returns its failure, if any,
// with the trace of decisions taken.
func execute(prog Program, strat strategy, maxSteps int) (r *Run, err error) {
	r = &Run{strat: strat, maxSteps: maxSteps, finished: make(chan struct{})}
	if !active.CompareAndSwap(nil, r) {
		panic("seam: two explorations at once")
	}
	defer active.CompareAndSwap(r, nil)
	end := prog(r)
	type hello struct {
		p    *proc
		goid uint64
	}
	hellos := make(chan hello)
	for _, p := range r.procs {
		go func() {
			hellos <- hello{p, goid.Current()}
			<-p.wake
			defer func() {
				if v := recover(); v != nil {
					r.Fail(fmt.Errorf("%s panicked: %v\n%s", p.name, v, stackOf()))
				}
				p.state = done
				r.schedule(p)
			}()
			p.body()
		}()
	}
	byGoid := make(map[uint64]*proc, len(r.procs))
	for range r.procs {
		h := <-hellos
		byGoid[h.goid] = h.p
	}
	r.byGoid = byGoid
	r.schedule(nil)
	<-r.finished
	active.Store(nil) // the end checks run as direct operations
	if r.failure == nil && end != nil {
		for _, check := range r.onStep {
			if err := check(); err != nil {
				r.failure = err
			}
		}
		if r.failure == nil {
			r.failure = end()
		}
	}
	return r, r.failure
}

func stackOf() string {
	buf := make([]byte, 16<<10)
	return string(buf[:runtime.Stack(buf, false)])
}

// Program is a scenario: called once per execution on the driver, it
// builds fresh state, adds the goroutines with Go, and returns the
// checks to make once they have all finished (nil: none).
type Program func(r *Run) (end func() error)
