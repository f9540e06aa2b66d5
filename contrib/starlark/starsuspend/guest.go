package starsuspend

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"weak"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// DefaultPollEvery is the number of interpreter steps between two polls
// when WithPollEvery is not given. From K=16 up each poll costs about two
// steps of plain starlark on a CPU-bound loop, so the overhead is about
// 2/K: 13 % at 16, 3 % at 64, measured in one process by
// BenchmarkSpinSweep (docs/benchmarks.md). At 64 a stop waits for at
// most 64 steps of each guest, well under a microsecond of starlark code
// and far less than a stop waits for the Go scheduler on a busy machine.
const DefaultPollEvery = 64

// localKey is the starlark thread-local under which a Guest is found.
const localKey = "github.com/coopsuspend/coopsuspend/contrib/starlark.Guest"

// unlimited is starlark's "no step limit".
const unlimited = math.MaxUint64

// Option configures Attach.
type Option func(*config) error

type config struct {
	every uint64
}

// WithPollEvery makes the guest poll every k interpreter steps (k ≥ 1).
// Smaller k means shorter stops and more overhead.
func WithPollEvery(k uint64) Option {
	return func(c *config) error {
		if k == 0 {
			return errors.New("starsuspend: WithPollEvery(0): a guest must poll at least every step it runs; k must be at least 1")
		}
		c.every = k
		return nil
	}
}

// Guest is a starlark.Thread attached to a world as a guest thread.
//
// Fields written by the guest's goroutine only (slowAt, limit, onMax,
// inBlocking, callbacks) are read by others only while the guest is
// stopped, after the stop has ordered them.
type Guest struct {
	// The hook's fast path reads th (task for a task guest), every and
	// slowAt, and nothing else of the guest.
	th    *suspend.Thread
	task  *coroutine.Task // a task guest's coroutine (AttachTask); th is nil then
	every uint64
	// slowAt is the first step at which the hook leaves its fast path
	// (poll, move the limit K steps on) for onMaxStepsSlow: the
	// embedder's limit, or 0 (every step) while starlark code must not
	// run. schedule keeps it, so that the fast path decides with one
	// comparison what would otherwise take four loads and two branches.
	slowAt uint64

	st *starlark.Thread

	// limit is the embedder's own step limit (unlimited when none), and
	// onMax the embedder's OnMaxSteps (nil: starlark's default, a
	// cancellation).
	limit uint64
	onMax func(*starlark.Thread)

	// inBlocking counts nested Blocking builtins in progress, and
	// callbacks the Call callbacks in progress inside them: while
	// inBlocking > callbacks, starlark code must not run.
	inBlocking, callbacks int

	name     string
	world    *suspend.World // a task guest's, registered for StopAll; nil without one
	detached bool
	// seq orders the guests by attach, for Guests.
	seq uint64
	// listed is set once Attach has made a thread guest and cleared when
	// it detaches: Guests lists it only in between. It orders what
	// Attach wrote before it for the goroutines that find the guest
	// through the world's threads (Thread.Value).
	listed atomic.Bool
	// held is set while the adapter itself holds a task guest (StopAll
	// with the world stopped, PauseTask): only then may View read it.
	held atomic.Bool
}

// Attach makes st a guest thread of w, named name, on the calling
// goroutine, which must be the one that executes st. It must be called
// before st starts executing (starlark's SetLocal may not be called
// later), and st may be attached once at a time.
//
// Attach takes over st.OnMaxSteps and the step limit: it captures the
// embedder's OnMaxSteps, and the limit set later must go through
// Guest.SetMaxExecutionSteps (starlark cannot report a limit set before,
// so set it after Attach, or pass none). Detach gives both back.
func Attach(w *suspend.World, st *starlark.Thread, name string, opts ...Option) (*Guest, error) {
	if w == nil || st == nil {
		return nil, errors.New("starsuspend: Attach needs a world and a starlark thread")
	}
	if old, ok := st.Local(localKey).(*Guest); ok && old != nil && !old.detached {
		return nil, fmt.Errorf("starsuspend: starlark thread %q is attached already, as guest %q", st.Name, old.th.Name())
	}
	if st.CallStackDepth() > 0 {
		return nil, fmt.Errorf("starsuspend: starlark thread %q is executing; attach it before it runs", st.Name)
	}
	cfg := config{every: DefaultPollEvery}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	g := &Guest{st: st, every: cfg.every, limit: unlimited, onMax: st.OnMaxSteps, name: name, seq: attachSeq.Add(1)}
	th, err := w.Attach(name, suspend.WithValue(g))
	if err != nil {
		return nil, err
	}
	g.th = th
	st.SetLocal(localKey, g)
	st.OnMaxSteps = g.hook()
	g.schedule()
	g.listed.Store(true)
	return g, nil
}

// AttachTask makes st a guest that runs as t, a coroutine of a
// coroutine.Scheduler (or of New): it polls through the coroutine
// (t.Poll) every K steps, so the scheduler's monitor time-slices the
// script and a stop of the world reaches it through the runner that runs
// it, and its Blocking builtins make their calls through the coroutine
// (t.Blocking: under a scheduler, off the runner, which runs other
// coroutines meanwhile). Thousands of scripts so share a few runners, and
// a stop waits for the runners only. Call it in the coroutine's body,
// before st runs, and Detach before the body returns. A Blocking builtin
// of a task guest cannot call back into starlark (Call fails there: the
// call runs off the coroutine).
//
// Its debugger's view is read while the world is stopped (StopAll of the
// scheduler's world) or while the coroutine is suspended (PauseTask).
func AttachTask(t *coroutine.Task, st *starlark.Thread, name string, opts ...Option) (*Guest, error) {
	if t == nil || st == nil {
		return nil, errors.New("starsuspend: AttachTask needs a coroutine's Task and a starlark thread")
	}
	if old, ok := st.Local(localKey).(*Guest); ok && old != nil && !old.detached {
		return nil, fmt.Errorf("starsuspend: starlark thread %q is attached already, as guest %q", st.Name, old.name)
	}
	if st.CallStackDepth() > 0 {
		return nil, fmt.Errorf("starsuspend: starlark thread %q is executing; attach it before it runs", st.Name)
	}
	cfg := config{every: DefaultPollEvery}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	g := &Guest{task: t, st: st, every: cfg.every, limit: unlimited, onMax: st.OnMaxSteps, name: name, seq: attachSeq.Add(1)}
	st.SetLocal(localKey, g)
	st.OnMaxSteps = g.hook()
	g.schedule()
	if th := t.Thread(); th != nil {
		registerTask(th.World(), g)
		g.world = th.World()
	}
	return g, nil
}

// Run attaches st, calls fn with the guest, and detaches, also when fn
// panics (the panic then goes on). Its error is fn's, joined with
// Detach's.
func Run(w *suspend.World, st *starlark.Thread, name string, fn func(*Guest) error, opts ...Option) (err error) {
	g, err := Attach(w, st, name, opts...)
	if err != nil {
		return err
	}
	defer func() {
		if derr := g.Detach(); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	return fn(g)
}

// Detach ends the guest: it gives st back its OnMaxSteps and the
// embedder's step limit, and detaches the suspend thread. Call it on the
// guest's goroutine, with st no longer executing.
func (g *Guest) Detach() error {
	if g.detached {
		return fmt.Errorf("starsuspend: guest %q: %w", g.name, suspend.ErrDetached)
	}
	if g.st.CallStackDepth() > 0 {
		return fmt.Errorf("starsuspend: guest %q is still executing starlark code; detach it after it returns", g.name)
	}
	if g.task != nil {
		if g.world != nil {
			unregisterTask(g.world, g)
		}
	} else {
		g.listed.Store(false)
		if err := g.th.Detach(); err != nil {
			g.listed.Store(true)
			return err
		}
	}
	g.detached = true
	g.st.OnMaxSteps = g.onMax
	// unlimited is starlark's own "no limit" once a thread has run (its
	// 0 means none only before the first call), and before it too.
	g.st.SetMaxExecutionSteps(g.limit)
	return nil
}

// SetMaxExecutionSteps sets the embedder's own step limit (0: none),
// which starlark.Thread.SetMaxExecutionSteps would otherwise set. Call it
// on the guest's goroutine: before running, or from a builtin or the
// embedder's OnMaxSteps (to extend the limit, as without the adapter).
func (g *Guest) SetMaxExecutionSteps(max uint64) {
	if max == 0 {
		max = unlimited
	}
	g.limit = max
	g.schedule()
}

// Thread returns the guest's suspend thread: for a task guest, the thread
// of the runner that runs it now (call it from the guest's goroutine).
func (g *Guest) Thread() *suspend.Thread {
	if g.task != nil {
		return g.task.Thread()
	}
	return g.th
}

// Starlark returns the guest's starlark thread.
func (g *Guest) Starlark() *starlark.Thread { return g.st }

// Name returns the guest's name.
func (g *Guest) Name() string { return g.name }

// GuestOf returns the guest st is attached as, or nil.
func GuestOf(st *starlark.Thread) *Guest {
	g, _ := st.Local(localKey).(*Guest)
	if g == nil || g.detached {
		return nil
	}
	return g
}

// ThreadOf returns the suspend thread of the guest st is attached as, or
// nil: what a builtin passes to package safepoint.
func ThreadOf(st *starlark.Thread) *suspend.Thread {
	if g := GuestOf(st); g != nil {
		return g.Thread()
	}
	return nil
}

// schedule sets starlark's limit to the next step the hook must see: the
// next poll, or the embedder's limit if that comes first. Inside a
// Blocking builtin (and outside its callbacks) it is the very next step,
// so that guest code run there is caught at once. It also sets slowAt,
// the hook's fast-path bound, from the same state: call it after every
// change of limit, inBlocking or callbacks.
func (g *Guest) schedule() {
	if g.inBlocking > g.callbacks {
		g.slowAt = 0
		g.st.SetMaxExecutionSteps(1) // every step ≥ 1 reaches the hook
		return
	}
	g.slowAt = g.limit
	next := g.st.Steps + g.every
	if next < g.st.Steps { // overflow
		next = unlimited
	}
	g.st.SetMaxExecutionSteps(min(next, g.limit))
}

// hook returns the OnMaxSteps hook starlark calls when its step count
// reaches the limit schedule set; at K=1 that is every step. It is a
// closure rather than a method value, whose -fm wrapper would make two
// calls per step: the fast path (no Blocking builtin in progress, the
// embedder's limit not reached) is too big to inline into the wrapper.
// The fast path moves the limit on and polls, and needs no spill around
// its calls: everything else is in onMaxStepsSlow.
//
// hook is not inlined because the copy of a closure made by inlining its
// function is compiled without inlining the closure's own calls
// (golang/go#81380): SetMaxExecutionSteps and Poll would be calls too.
//
//go:noinline
func (g *Guest) hook() func(*starlark.Thread) {
	if g.task != nil {
		// A task guest polls through its coroutine, whose Poll also
		// honours the scheduler's preemptions and cancellations.
		return func(st *starlark.Thread) {
			steps := st.Steps
			if steps >= g.slowAt {
				g.onMaxStepsSlow(st)
				return
			}
			st.SetMaxExecutionSteps(steps + min(g.slowAt-steps, g.every))
			g.task.Poll()
		}
	}
	if g.every == 1 {
		// K=1 runs this on every step. As steps < slowAt ≤ limit, the
		// next step is never past the limit, so the general closure's
		// load of every and its min are not needed here; without them
		// K=1 measured about 1 % faster (A/B in one process, 8 runs:
		// 0.98–1.04, median 1.013).
		return func(st *starlark.Thread) {
			steps := st.Steps
			if steps >= g.slowAt {
				g.onMaxStepsSlow(st)
				return
			}
			st.SetMaxExecutionSteps(steps + 1)
			safepoint.Poll(g.th)
		}
	}
	return func(st *starlark.Thread) {
		steps := st.Steps
		if steps >= g.slowAt {
			g.onMaxStepsSlow(st)
			return
		}
		// steps < slowAt, so this is min(steps+every, limit) without
		// overflow: schedule's common case. It is set before the poll,
		// which leaves nothing live across the poll's call; nobody reads
		// the limit of a parked guest.
		st.SetMaxExecutionSteps(steps + min(g.slowAt-steps, g.every))
		safepoint.Poll(g.th)
	}
}

// onMaxStepsSlow is the hook at the embedder's limit or inside a Blocking
// builtin, out of line so that the hook's fast path stays small.
//
//go:noinline
func (g *Guest) onMaxStepsSlow(st *starlark.Thread) {
	if g.inBlocking > g.callbacks {
		st.Cancel(fmt.Sprintf("starsuspend: guest %q ran starlark code inside a Blocking builtin, where a stop does not wait for it; call back through starsuspend.Call", g.name))
		return
	}
	g.poll()
	if st.Steps >= g.limit {
		if g.onMax == nil {
			st.Cancel("too many steps")
		} else if g.onMax(st); st.Steps >= g.limit {
			// The embedder's hook neither raised the guest's limit nor
			// should it have cancelled the run (starlark keeps the first
			// reason, so a cancellation of its own stands). Without the
			// adapter, a hook that did nothing would run at every step:
			// one that raised starlark's own limit, which the adapter
			// sets, would now, silently. Say so instead.
			st.Cancel(fmt.Sprintf("starsuspend: guest %q reached its step limit %d, and OnMaxSteps did not raise it "+
				"through Guest.SetMaxExecutionSteps (while a thread is attached, starlark.Thread.SetMaxExecutionSteps "+
				"belongs to the adapter)", g.name, g.limit))
		}
	}
	g.schedule() // the embedder's hook may have moved the limit
}

// poll is the guest's safepoint outside the hook's fast path.
func (g *Guest) poll() {
	if g.task != nil {
		g.task.Poll()
	} else {
		safepoint.Poll(g.th)
	}
}

// stopped reports whether the guest is held by a stop or a suspend and
// runs no starlark code: parked, or inside a blocking region; a task
// guest, only while the adapter holds it (StopAll, PauseTask).
func (g *Guest) stopped() bool {
	if g.task != nil {
		return g.held.Load()
	}
	return g.th.Held()
}

// attachSeq numbers the guests in the order they attach.
var attachSeq atomic.Uint64

// The task guests of each world, for Guests and StopAll. A thread guest is
// found through the world's threads (it is the Value of its thread); a
// task guest is a coroutine, which runs on whichever runner thread the
// scheduler gives it, so the adapter keeps its own list of them. The list
// holds the guests and worlds weakly, so that it never keeps either
// alive.
var tasks struct {
	sync.Mutex
	m map[weak.Pointer[suspend.World]][]weak.Pointer[Guest]
}

func registerTask(w *suspend.World, g *Guest) {
	tasks.Lock()
	defer tasks.Unlock()
	if tasks.m == nil {
		tasks.m = make(map[weak.Pointer[suspend.World]][]weak.Pointer[Guest])
	}
	for k := range tasks.m { // worlds collected since
		if k.Value() == nil {
			delete(tasks.m, k)
		}
	}
	k := weak.Make(w)
	tasks.m[k] = append(tasks.m[k], weak.Make(g))
}

func unregisterTask(w *suspend.World, g *Guest) {
	tasks.Lock()
	defer tasks.Unlock()
	k := weak.Make(w)
	list := slices.DeleteFunc(tasks.m[k], func(p weak.Pointer[Guest]) bool {
		x := p.Value()
		return x == nil || x == g
	})
	if len(list) == 0 {
		delete(tasks.m, k)
	} else {
		tasks.m[k] = list
	}
}

// Guests returns the guests attached to w through this package that are
// still w's threads, in the order they attached.
func Guests(w *suspend.World) []*Guest {
	var out []*Guest
	for _, th := range w.Threads() {
		if g, ok := th.Value().(*Guest); ok && g.listed.Load() {
			out = append(out, g)
		}
	}
	tasks.Lock()
	k := weak.Make(w)
	list := tasks.m[k][:0]
	for _, p := range tasks.m[k] {
		g := p.Value()
		if g == nil || g.detached {
			continue // collected, or detached
		}
		list = append(list, p)
		out = append(out, g)
	}
	if len(list) == 0 {
		delete(tasks.m, k)
	} else {
		tasks.m[k] = list
	}
	tasks.Unlock()
	slices.SortFunc(out, func(a, b *Guest) int { return cmp.Compare(a.seq, b.seq) })
	return out
}
