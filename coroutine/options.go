package coroutine

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// Option configures a coroutine (New), a scheduler (NewScheduler) or a
// scheduled coroutine (Submit). Each option says where it applies; one
// given where it does not is an error, never silently dropped: New's
// coroutine returns it from its first Resume, NewScheduler's from Run,
// and a Submit's coroutine ends Failed with it. All of them wrap
// ErrOptionScope.
//
//	option        New  NewScheduler  Submit
//	WithName       ✓        ✓           ✓
//	WithListener   ✓        ✓           ✓
//	WithLogger     ✓                    ✓
//	WithMonitor    ✓        ✓
//	WithThread     ✓                    ✗ (fails the coroutine: ErrForeignThread)
//	WithWorld               ✓
//	WithResultLimit         ✓
//	WithRunners             ✓
//	WithHandoff             ✓
//	WithPriority                        ✓
//
// The scope is checked when the options are used, not by the compiler.
// One option type per constructor (three interfaces, and option types
// for the pairs: five types for ten options) would reject a misplaced
// option at compile time, but an embedder's shared list of options
// (name, listener, logger, built once for New and Submit) could then not
// be passed to both: Go has no conversion from one slice type to another.
type Option struct {
	name  string
	scope scope
	apply func(*config)
}

// scope is the set of constructors an option applies to.
type scope uint8

const (
	forNew scope = 1 << iota
	forScheduler
	forSubmit
	forAll = forNew | forScheduler | forSubmit
)

func (s scope) String() string {
	switch s {
	case forNew:
		return "New"
	case forScheduler:
		return "NewScheduler"
	case forSubmit:
		return "Submit"
	}
	return "?"
}

// ErrOptionScope is wrapped by the error of an option given to a
// constructor it does not apply to (see Option).
var ErrOptionScope = errors.New("the option does not apply here")

// applyOptions applies opts for where, and returns the first misplaced
// one as an error naming it (nil if none); the others still apply.
func (c *config) applyOptions(where scope, opts []Option) error {
	var err error
	for _, o := range opts {
		if o.apply == nil {
			if err == nil {
				err = fmt.Errorf("coroutine: %s: the zero Option: %w", where, ErrOptionScope)
			}
			continue
		}
		if o.scope&where == 0 {
			if err == nil {
				err = fmt.Errorf("coroutine: %s(%s): %w", where, o.name, ErrOptionScope)
			}
			continue
		}
		o.apply(c)
	}
	return err
}

type config struct {
	name      string
	listeners []Listener
	thread    *suspend.Thread
	logger    *slog.Logger
	priority  int
	// offload: a scheduler runs the coroutine's blocking calls elsewhere.
	offload bool

	monitor *monitor.Monitor
	// rec is the record of the thread the coroutine runs on, set by a
	// scheduler that registered its thread for the monitor's samples.
	rec *asyncsuspend.Record

	world *suspend.World // schedulers only
	// resultLimit bounds the unread results a scheduler keeps (0: no
	// bound); schedulers only.
	resultLimit int
	// runners is how many runners a scheduler runs (0: GOMAXPROCS), and
	// handoff how long a coroutine may run without switching out before
	// its runner is handed off (0: never; handoffSet says WithHandoff
	// chose it); schedulers only.
	runners    int
	handoff    time.Duration
	handoffSet bool

	// err is the first misplaced option (see Option).
	err error
}

// WithMonitor puts the coroutine (or every coroutine of a scheduler)
// under a monitor's time slices: entering Running starts a slice, leaving
// it ends the slice, and an expired slice makes the next Poll suspend.
// A scheduler starts the monitor when it runs. With monitor.WithOverrun,
// an overrun is sampled on the coroutine's thread when that thread is
// registered with the signal handler: a scheduler registers its own; a
// coroutine of New is sampled when it is resumed from a thread attached
// to a hybrid or preemptive world.
func WithMonitor(m *monitor.Monitor) Option {
	return Option{"WithMonitor", forNew | forScheduler, func(c *config) { c.monitor = m }}
}

// WithWorld attaches a scheduler to a world while it runs: the goroutine
// calling Run becomes a thread of w, polls between coroutines, waits in
// blocking regions, and every coroutine's Poll is that thread's safepoint.
func WithWorld(w *suspend.World) Option {
	return Option{"WithWorld", forScheduler, func(c *config) { c.world = w }}
}

// WithRunners sets how many runner goroutines a scheduler resumes its
// coroutines on (at least 1); the default is GOMAXPROCS at Run. With one
// runner the scheduler keeps the strict order of its ready queue across
// all its coroutines; with more, each runner keeps it for its own queue,
// and stealing keeps the highest priorities running first.
func WithRunners(n int) Option {
	return Option{"WithRunners", forScheduler, func(c *config) {
		c.runners = n
		if n == 0 {
			c.runners = -1 // refused by NewScheduler, not taken for the default
		}
	}}
}

// WithHandoff sets how long a scheduled coroutine may run without switching
// out (a Poll that is preempted, a yield, a blocking call) before its
// runner is handed off: a new runner takes over its queue, so that the
// other coroutines go on. Zero turns hand-off off. The default, with
// WithMonitor, is the monitor's slice plus its overrun margin (when it
// samples overruns) or plus ten slices (when it does not); without a
// monitor, off.
func WithHandoff(d time.Duration) Option {
	return Option{"WithHandoff", forScheduler, func(c *config) { c.handoff, c.handoffSet = d, true }}
}

// DefaultResultLimit is how many finished coroutines' results a scheduler
// keeps unread, unless WithResultLimit says otherwise.
const DefaultResultLimit = 10_000

// WithResultLimit bounds how many finished coroutines' results a scheduler
// keeps for Result and Join to read: past n unread results, the oldest
// is dropped. A result is kept only until it is read once, so a server
// that joins what it submits keeps none; one that submits and never looks
// back keeps at most n. Zero keeps every result until it is read.
func WithResultLimit(n int) Option {
	return Option{"WithResultLimit", forScheduler, func(c *config) { c.resultLimit = n }}
}

// WithName names the coroutine or scheduler (for listeners, errors and
// dumps).
func WithName(name string) Option {
	return Option{"WithName", forAll, func(c *config) { c.name = name }}
}

// WithPriority sets a scheduled coroutine's priority: lower values run
// first; equal ones in the order they became ready (first come, first
// served). The default is 0.
func WithPriority(p int) Option {
	return Option{"WithPriority", forSubmit, func(c *config) { c.priority = p }}
}

// WithListener adds a listener, told about every status change.
func WithListener(l Listener) Option {
	return Option{"WithListener", forAll, func(c *config) { c.listeners = append(c.listeners, l) }}
}

// WithThread binds the coroutine to an attached thread: its Poll is also
// the thread's safepoint and its Sleep a blocking region of the thread.
// Resume and the body then run as that thread, so call Resume only from
// the thread's own goroutine.
func WithThread(t *suspend.Thread) Option {
	return Option{"WithThread", forNew | forSubmit, func(c *config) { c.thread = t }}
}

// WithLogger sets where a panicking listener is reported (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", forNew | forSubmit, func(c *config) {
		if l != nil {
			c.logger = l
		}
	}}
}

// Listener is told about a coroutine's status changes. Each field is
// optional.
//
// A listener's panic is the listener's bug, and it is reported, not
// hidden: the coroutine's logger (WithLogger; slog.Default unless set)
// gets an Error record with the panic value and the listener's stack,
// and ListenerPanics counts it. It is not raised again, and the coroutine
// goes on: a listener runs in the middle of a status change, on whichever
// goroutine makes it (the resumer, the body's goroutine at a Yield, a
// Scheduler's runner, a blocking call's goroutine), and a panic there
// would unwind a half-made change, failing the body or the runner and
// every other coroutine queued on it rather than the listener's caller.
type Listener struct {
	// OnStateChanged is called on every change, before the specific one.
	OnStateChanged func(name string, from, to Status)
	OnReady        func(name string)
	OnRunning      func(name string)
	OnSuspend      func(name string)
	OnSyscall      func(name string)
	OnCancel       func(name string)
	OnComplete     func(name string)
	OnError        func(name string)
}
