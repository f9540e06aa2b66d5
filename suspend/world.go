package suspend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/internal/seam"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// World is a registry of attached threads and the one place they are
// stopped from. Its zero value is not usable; call NewWorld.
//
// One initiator at a time: Stop, SuspendThread, ResumeThread, Attach and
// Detach all take the world's suspend lock, and a stop holds it from Stop
// until Restart, so the set of threads does not change under it.
type World struct {
	policy      Policy
	policyGiven bool // by WithPolicy: the environment is not read
	timeout     time.Duration
	logger      *slog.Logger
	// sig carries asynchronous suspension under hybrid and preemptive;
	// its handler is installed by NewWorld and uninstalled by Close.
	sig syscall.Signal

	// closed is set by Close, under the suspend lock, and never cleared.
	closed atomic.Bool

	// lock is the suspend lock: it is held by whoever put the token in.
	// A channel, so that waiting for it can be cancelled.
	lock seam.Token

	// mu guards entries (registry.go). Writers also hold the suspend
	// lock, so an initiator reads entries without mu; Dump takes mu, not
	// the suspend lock, so it works during a stop. Every holder of mu
	// releases it by defer and calls nothing that blocks meanwhile.
	mu      seam.RWMutex // sync.RWMutex outside the explorer (internal/seam)
	entries []entry
	nextID  atomic.Uint64

	// targetBuf is the stop's target list, reused from one stop to the
	// next; owned by the suspend lock's holder (registry.go).
	targetBuf []target

	// holds is the sum of every thread's holds (SuspendThread calls not
	// yet matched by ResumeThread), including threads that have left the
	// registry since; guarded by the suspend lock. Outside a stop a
	// thread's suspend count is its holds, so while this is 0 no count
	// can be at its limit and a stop skips checking them (checkLimit).
	holds int

	// hot lists the positions, in the last stop's targets, of the
	// threads it found running (at most maxHot): the next stop requests
	// them first (requestAll). Owned by the suspend lock's holder.
	hot []int32

	// wakeFrom rotates the order in which Restart resumes threads
	// (initiator only): the threads resumed first run first, and a fixed
	// order starved the last ones under frequent stops.
	wakeFrom int

	notifier *core.Notifier

	// holder describes the suspend lock's holder (nil: free).
	holder atomic.Pointer[lockHolder]

	// initiator is the attached thread leading the stop in progress, or
	// nil (Dump marks it).
	initiator atomic.Pointer[Thread]

	// stopG is the goroutine (goid.G) that holds a stop not yet
	// restarted, or 0: set by Stop as it returns the stop, cleared as
	// Restart releases the world. A call that finds the suspend lock taken
	// compares it with its own goroutine: if they are the same, waiting
	// would never end.
	stopG atomic.Uintptr

	stats statsRecorder
}

// Option configures a World.
type Option func(*World)

// WithPolicy sets the suspend policy, overriding COOPSUSPEND_POLICY. An
// invalid policy makes NewWorld fail.
func WithPolicy(p Policy) Option {
	return func(w *World) { w.policy, w.policyGiven = p, true }
}

// WithSignal sets the signal that carries asynchronous suspension under
// the hybrid and preemptive policies: SIGURG (the default, shared with
// Go's preemption) or a real-time signal from 35 to 62.
func WithSignal(sig syscall.Signal) Option {
	return func(w *World) { w.sig = sig }
}

// DefaultStopTimeout bounds how long a stop waits when the world was made
// without WithStopTimeout: far above any time to safepoint a working
// runtime shows (docs/design.md, "The default stop timeout"), so that it
// fires only for a thread that will never poll, and turns that hang into
// a *StopTimeoutError that names the thread.
const DefaultStopTimeout = 10 * time.Second

// WithStopTimeout bounds how long Stop and SuspendThread wait for threads
// to reach a safepoint, and for the suspend lock; past it they roll back
// every request and fail with a *StopTimeoutError. The default is
// DefaultStopTimeout; zero means no bound beyond the context's. A
// negative duration makes NewWorld fail.
func WithStopTimeout(d time.Duration) Option {
	return func(w *World) { w.timeout = d }
}

// WithLogger sets the logger for diagnostics: stops and restarts at debug
// level, timeouts with the dump at warning level. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(w *World) {
		if l != nil {
			w.logger = l
		}
	}
}

// NewWorld returns an empty world. Without WithPolicy, the policy comes
// from the COOPSUSPEND_POLICY environment variable, or is Coop.
//
// It fails, and nothing is left installed, for an invalid policy or
// signal, an unknown COOPSUSPEND_POLICY value, and a hybrid or preemptive
// policy on a platform without asynchronous suspension
// (arch.ErrUnsupported) or whose signal handler cannot be installed. A
// hybrid or preemptive world holds an install of the signal handler until
// Close.
func NewWorld(opts ...Option) (*World, error) {
	w := &World{
		lock:     seam.NewToken("lock"),
		logger:   slog.New(slog.DiscardHandler),
		notifier: core.NewNotifier(),
		sig:      arch.DefaultSignal,
		timeout:  DefaultStopTimeout,
	}
	for _, o := range opts {
		o(w)
	}
	if w.timeout < 0 {
		return nil, fmt.Errorf("suspend: NewWorld: negative stop timeout %v: use 0 for none", w.timeout)
	}
	// A bad COOPSUSPEND_POLICY fails only a world that reads it.
	if !w.policyGiven {
		p, err := policyFromEnv()
		if err != nil {
			return nil, fmt.Errorf("suspend: NewWorld: %w", err)
		}
		w.policy = p
	}
	if !w.policy.Valid() {
		return nil, fmt.Errorf("suspend: NewWorld: invalid policy %v: must be one of coop, hybrid, preemptive", w.policy)
	}
	if w.policy.usesSignals() {
		if err := w.installHandler(); err != nil {
			return nil, fmt.Errorf("suspend: NewWorld: %w", err)
		}
	}
	return w, nil
}

// installHandler puts the asynchronous-suspension handler on the world's
// signal. Installs are counted per signal and shared by every world and
// monitor: the handler chains every delivery to Go's own, and the last
// Close puts Go's handler back.
func (w *World) installHandler() error {
	if !arch.Supported() {
		return fmt.Errorf("policy %v needs asynchronous suspension: %w (use coop)", w.policy, asyncsuspend.Install(w.sig))
	}
	if err := asyncsuspend.Install(w.sig); err != nil {
		return fmt.Errorf("policy %v: %w", w.policy, err)
	}
	return nil
}

// Close releases what the world holds in the process: under the hybrid and
// preemptive policies, its install of the signal handler. Afterwards every
// method fails with ErrClosed, a second Close included.
//
// A world in use is not closed: Close fails with an error wrapping ErrInUse,
// and changes nothing, while threads are attached (it names them; detach
// them first) or while another call holds the world (a stop not yet
// restarted, a suspended thread's SuspendThread, an Attach or Detach in
// progress). A thread whose goroutine ended without Detach does not count:
// Close removes it, even while its *Thread is held (see Attach).
func (w *World) Close() error {
	switch {
	case w.lock == nil:
		return errZeroWorld
	case w.closed.Load():
		return fmt.Errorf("suspend: Close: %w", ErrClosed)
	}
	if !w.lock.TryPut() {
		return fmt.Errorf("suspend: Close: %w: the world is held by %s", ErrInUse, w.holderString("another call"))
	}
	w.held(nil, "Close")
	defer w.release()
	if w.closed.Load() { // another Close won the race for the lock
		return fmt.Errorf("suspend: Close: %w", ErrClosed)
	}
	if attached := w.attachedNames(); len(attached) > 0 {
		return fmt.Errorf("suspend: Close: %w: %d threads are attached: %s", ErrInUse, len(attached), strings.Join(attached, ", "))
	}
	w.closed.Store(true)
	if w.policy.usesSignals() {
		asyncsuspend.Uninstall(w.sig)
	}
	return nil
}

// CheckSignals reports whether asynchronous suspension works: nil for a
// world that does not use it, or whose handler is still installed; an
// error wrapping arch.ErrHandlerReplaced after signal.Ignore, signal.Reset
// or another library replaced it. Stop makes the same check.
func (w *World) CheckSignals() error {
	if err := w.usable(); err != nil {
		return err
	}
	if !w.policy.usesSignals() {
		return nil
	}
	if err := asyncsuspend.Installed(w.sig); err != nil {
		return fmt.Errorf("suspend: policy %v cannot suspend asynchronously: %w", w.policy, err)
	}
	return nil
}

// Policy returns the world's suspend policy.
func (w *World) Policy() Policy { return w.policy }

// StopTimeout returns how long the world's stops wait for their threads:
// DefaultStopTimeout unless WithStopTimeout said otherwise; 0 for no bound.
func (w *World) StopTimeout() time.Duration { return w.timeout }

// AttachOption configures Attach.
type AttachOption struct{ apply func(*Thread) }

// OnRequest asks that fn be called each time a stop of the world or a
// SuspendThread requests the thread while it runs guest code (its word
// goes from RUNNING to ASYNC_SUSPEND_REQUESTED: it must reach a poll),
// right after the request is on the thread's word and before the
// initiator waits for the poll. It is for runtimes whose guests poll
// through a channel, or wait on channels they could be woken from (otto's
// Interrupt): fn nudges the thread toward its poll. A request that finds
// the thread in a blocking region, or held already, calls nothing: such a
// thread parks without polling if it leaves its region.
//
// fn runs on the initiator's goroutine, not the thread's, while the
// initiator holds the world's suspend lock: it must not block, nor call
// the world's initiator methods (Stop, SuspendThread, Attach, Detach),
// nor the thread's. It must tolerate a call for a request that is then
// withdrawn (a stop that times out rolls back): a nudge that finds no
// request pending polls for nothing. A panic in fn unwinds the stop as
// any panic under the suspend lock does (the requests are withdrawn, the
// world stays usable) and goes on. Unused, it costs a stop a nil check
// per running thread, and Poll nothing.
func OnRequest(fn func(*Thread)) AttachOption {
	return AttachOption{func(t *Thread) { t.onRequest = fn }}
}

// WithValue keeps v with the thread: Thread.Value returns it. Keep there
// what code that meets the thread must find from it (the guest's VM, an
// adapter's record of the guest), so that a collector walking a stopped
// world (ThreadInfo.Thread) or a debugger listing World.Threads needs no
// map of its own. The thread holds v strongly; the world holds its
// threads weakly (see Attach), so v does not keep an abandoned thread
// alive unless v itself is reachable from elsewhere. The adapters in
// contrib keep their guest there.
func WithValue(v any) AttachOption {
	return AttachOption{func(t *Thread) { t.value = v }}
}

// Threads returns the world's attached threads, in the order they
// attached: those that have not detached and that the world has not
// removed (see Attach). The list is a copy, true at the call; while the
// world is stopped it is the stop's threads and the initiator's. It may
// be called from any goroutine, also while the world is stopped.
func (w *World) Threads() []*Thread {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]*Thread, 0, len(w.entries))
	for i := range w.entries {
		if t := w.entries[i].thread.Value(); t != nil {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *Thread) int { return cmp.Compare(a.c.ID, b.c.ID) })
	return out
}

// Attach registers the calling goroutine as a thread named name and
// returns it, Running. Call it on the goroutine that is the thread, and
// call Detach on the same goroutine when it is done. Under the hybrid and
// preemptive policies the goroutine is locked to its OS thread until
// Detach, so that signals can find it. While the world is stopped, Attach
// waits for the restart.
//
// A goroutine is one thread: attaching one that is attached already (to
// this world or another) fails with ErrAttached. A goroutine that ends
// without Detach is removed by the first stop after a garbage collection
// has found its *Thread unreachable, or, while something still holds the
// *Thread, by the first stop that times out waiting for it (it is named
// in StopTimeoutError.Abandoned) and by Close; see Stats.Abandoned.
func (w *World) Attach(name string, opts ...AttachOption) (*Thread, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	t := &Thread{world: w}
	for _, o := range opts {
		if o.apply == nil {
			return nil, fmt.Errorf("suspend: Attach(%q): the zero AttachOption", name)
		}
		o.apply(t)
	}
	t.c.Init(name, w.nextID.Add(1), w.notifier)
	t.c.Owner = goid.Current()
	t.c.OwnerG = goid.G()
	t.ownerG = t.c.OwnerG
	if err := claimOwner(t.c.Owner, name); err != nil {
		return nil, fmt.Errorf("suspend: Attach(%q): %w", name, err)
	}
	// Until the thread is published, a panic below (a test hook, an
	// internal error) undoes what was done, so that nothing is left
	// registered, locked or claimed.
	var locked, published bool
	defer func() {
		if p := recover(); p != nil {
			w.unwindAttach(t, locked, published)
			panic(p)
		}
	}()
	if w.policy.usesSignals() {
		runtime.LockOSThread()
		t.locked = true
		rec, err := asyncsuspend.Register(t.c.Owner)
		if err != nil {
			runtime.UnlockOSThread()
			t.locked = false
			forgetOwner(t.c.Owner)
			if errors.Is(err, asyncsuspend.ErrRegistered) {
				err = ErrAttached
			}
			return nil, fmt.Errorf("suspend: Attach(%q): %w", name, err)
		}
		t.c.Rec = rec
		t.c.Tid = int32(rec.Tid())
	}
	testHook("Attach", "registered")
	// As in Mono, attach before publishing: nobody can see the thread
	// until it is registered under the suspend lock, so no stop waits for
	// it meanwhile.
	t.c.Attach()
	testHook("Attach", "attached")
	if err := w.acquireOpen(context.Background(), nil, "Attach"); err != nil {
		w.unwindAttach(t, false, false) // closed meanwhile
		return nil, fmt.Errorf("suspend: Attach(%q): %w", name, err)
	}
	locked = true
	testHook("Attach", "locked")
	w.publish(t)
	published = true
	testHook("Attach", "published")
	locked = false
	w.release()
	return t, nil
}

// unwindAttach undoes a panicking Attach: it unpublishes, detaches and
// unregisters the thread and releases what the call held.
func (w *World) unwindAttach(t *Thread, locked, published bool) {
	if published {
		w.unregister(t, "") // returns the record to arch
	} else if t.c.Rec != nil {
		t.c.Rec.Unregister()
	}
	if !published {
		forgetOwner(t.c.Owner)
	}
	if t.Word().State() == threadstate.Running {
		t.c.TryDetach(false)
	}
	if t.locked {
		runtime.UnlockOSThread()
	}
	if locked {
		w.release()
	}
}

// usable reports why the world cannot be used: not made by NewWorld, or
// closed.
func (w *World) usable() error {
	if w.lock == nil {
		return errZeroWorld
	}
	if w.closed.Load() {
		return fmt.Errorf("suspend: %w", ErrClosed)
	}
	return nil
}

// acquire takes the suspend lock. An attached caller (self) waits inside a
// blocking region, so that another initiator can stop it meanwhile.
func (w *World) acquire(ctx context.Context, self *Thread, op string) error {
	if w.lock.TryPut() {
		w.held(self, op)
		return nil
	}
	if g := w.stopG.Load(); g != 0 && g == goid.G() {
		return fmt.Errorf("suspend: %s: this goroutine holds a stop of the world that was not restarted; "+
			"call Restart first: %w", op, ErrWaitsForItself)
	}
	if self != nil && !self.c.InSafeRegion() {
		self.c.EnterSafe()
		// Leaving the region after the lock is ours cannot park: a
		// thread is requested only by the lock's holder.
		defer self.c.ExitSafe()
	}
	if err := w.lock.Put(ctx); err == nil {
		w.held(self, op)
		return nil
	}
	holder := w.holderString("nobody any more")
	w.stats.timedOut()
	return &StopTimeoutError{Dump: w.dumpString(),
		Err: fmt.Errorf("%s: waiting for another initiator (%s): %w", op, holder, context.Cause(ctx))}
}

// acquireOpen takes the suspend lock for an operation that a closed world
// refuses: it fails with ErrClosed if Close came first. (Detach takes the
// lock with acquire: a world with attached threads is never closed.)
func (w *World) acquireOpen(ctx context.Context, self *Thread, op string) error {
	if err := w.acquire(ctx, self, op); err != nil {
		return err
	}
	if w.closed.Load() {
		w.release()
		return fmt.Errorf("suspend: %s: %w", op, ErrClosed)
	}
	return nil
}

// lockHolder says who holds the suspend lock, for the error of an
// initiator that gives up waiting.
type lockHolder struct {
	what  string
	since time.Time
}

// holderString describes the suspend lock's holder and for how long it
// has held the lock, or returns none when nobody is recorded.
func (w *World) holderString(none string) string {
	h := w.holder.Load()
	if h == nil {
		return none
	}
	return fmt.Sprintf("%s, for %v", h.what, time.Since(h.since).Round(time.Microsecond))
}

func (w *World) held(self *Thread, op string) {
	who := "an unattached goroutine"
	if self != nil {
		who = fmt.Sprintf("thread %q", self.c.Name)
	}
	w.holder.Store(&lockHolder{what: op + " by " + who, since: time.Now()})
}

func (w *World) release() {
	w.holder.Store(nil)
	w.lock.Take()
}

// checkBalanced checks I14 at both ends of every stop and every
// single-thread suspend or resume: nothing pending, every notification
// consumed. A failure is a bug in this package.
func (w *World) checkBalanced() {
	if err := w.notifier.Balanced(); err != nil {
		panic(err)
	}
}
