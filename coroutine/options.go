package coroutine

import (
	"log/slog"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// Option configures a coroutine.
type Option func(*config)

type config struct {
	name      string
	listeners []Listener
	thread    *suspend.Thread
	logger    *slog.Logger
	priority  int
	// offload: a scheduler runs the coroutine's blocking calls elsewhere.
	offload bool

	monitor *monitor.Monitor
	// rec is the record of the thread the coroutine runs on, for the
	// monitor's samples; set by the scheduler.
	rec *arch.Record

	world *suspend.World // schedulers only
}

// WithMonitor puts the coroutine (or every coroutine of a scheduler)
// under a monitor's time slices: entering Running starts a slice, leaving
// it ends the slice, and an expired slice makes the next Poll suspend.
// A scheduler starts the monitor when it runs.
func WithMonitor(m *monitor.Monitor) Option { return func(c *config) { c.monitor = m } }

// WithWorld attaches a scheduler to a world while it runs: the goroutine
// calling Run becomes a thread of w, polls between coroutines, waits in
// blocking regions, and every coroutine's Poll is that thread's safepoint.
func WithWorld(w *suspend.World) Option { return func(c *config) { c.world = w } }

// WithName names the coroutine or scheduler (for listeners, errors and
// dumps).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithPriority sets a scheduled coroutine's priority: lower values run
// first; equal ones in submission order. The default is 0.
func WithPriority(p int) Option { return func(c *config) { c.priority = p } }

// WithListener adds a listener, told about every status change.
func WithListener(l Listener) Option {
	return func(c *config) { c.listeners = append(c.listeners, l) }
}

// WithThread binds the coroutine to an attached thread: its Poll is also
// the thread's safepoint and its Sleep a blocking region of the thread.
// Resume and the body then run as that thread, so call Resume only from
// the thread's own goroutine.
func WithThread(t *suspend.Thread) Option { return func(c *config) { c.thread = t } }

// WithLogger sets where a panicking listener is reported (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// Listener is told about a coroutine's status changes. Each field is
// optional. A listener that panics is reported and ignored; the
// coroutine goes on.
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
