package suspend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// StopOption configures Stop, SuspendThread and ResumeThread.
type StopOption func(*stopConfig)

type stopConfig struct {
	self *Thread
}

// By says that the caller is the attached thread self. Self is left
// running by the stop, and while the call waits for another initiator to
// finish it waits inside a blocking region, so that initiator can stop it.
// An attached goroutine that calls Stop, SuspendThread or ResumeThread
// without By can make a concurrent stop wait for it forever.
func By(self *Thread) StopOption {
	return func(c *stopConfig) { c.self = self }
}

func (w *World) stopConfig(opts []StopOption) (stopConfig, error) {
	var c stopConfig
	for _, o := range opts {
		o(&c)
	}
	if err := w.usable(); err != nil {
		return c, err
	}
	if s := c.self; s != nil {
		switch {
		case s.world != w:
			return c, fmt.Errorf("suspend: By(%q): the thread belongs to another world", s.c.Name)
		case s.detached:
			return c, fmt.Errorf("suspend: By(%q): %w (%v)", s.c.Name, ErrDetached, s.Word())
		case s.Word().NoSafepoints():
			return c, fmt.Errorf("suspend: By(%q): an initiator cannot be inside a no-safepoints region (%v)",
				s.c.Name, s.Word())
		}
	}
	return c, nil
}

// ThreadInfo describes one thread of a stopped world.
type ThreadInfo struct {
	// Thread is the thread described; its Value is what the embedder
	// attached it with (WithValue).
	Thread *Thread
	Name   string
	ID     uint64
	Tid    int // OS thread id when locked, else 0
	// Word is the thread's state word when the stop completed.
	Word threadstate.Word
	// Parked: the thread is parked and runs nothing until it is resumed.
	Parked bool
	// InSafeRegion: the thread is still running inside a blocking region
	// (BlockingSuspendRequested). It counts as stopped: it touches no
	// shared runtime state and parks if it leaves the region before the
	// restart.
	InSafeRegion bool
	// Async: the thread is parked in its signal handler inside a wrapped
	// system call (BlockingAsyncSuspended, hybrid and preemptive).
	// Context holds the registers the handler saved; nil otherwise, and
	// nil too when the thread's resume had begun as the info was taken
	// (a Dump that races a Restart).
	Async   bool
	Context *arch.Context
	// Where says where the thread is stopped, when that is known: the
	// system call's entry and the Go code that made the call.
	Where string
}

// Stopped is a stopped world. Every thread attached when the stop began,
// except the initiator, is parked or inside a blocking region until
// Restart. Attach, Detach, Stop and single-thread suspends wait until then.
type Stopped struct {
	world   *World
	ctx     context.Context
	self    *Thread
	targets []target // the world's target buffer, until Restart
	start   time.Time
	slowest Arrival

	// restarted is set by the first Restart; a Restart that finds it set
	// (even one racing the first from another goroutine) fails.
	restarted atomic.Bool
}

// Arrival names the thread a stop waited for longest: the last to reach
// its safepoint, and how long after Stop's call the initiator saw it
// arrive (the stop's time to safepoint). Thread is "" when no thread had
// to reach a poll (every target was in a blocking region, or there were
// none).
type Arrival struct {
	Thread string
	Wait   time.Duration
}

// Slowest says which thread the stop waited for longest, and how long:
// when a stop is slow, the thread whose loop lacks a poll.
func (s *Stopped) Slowest() Arrival { return s.slowest }

// Threads describes each stopped thread, as it is at the call: a stop
// does no per-thread work beyond the protocol, so nothing is recorded
// when it completes. While the world is stopped a thread's description
// changes in one way only: a thread InSafeRegion may leave its region
// and park (BLOCKING_SUSPEND_REQUESTED becomes BLOCKING_SELF_SUSPENDED).
// After Restart nothing is stopped, and Threads returns nil.
func (s *Stopped) Threads() []ThreadInfo {
	if s.restarted.Load() {
		return nil
	}
	infos := make([]ThreadInfo, len(s.targets))
	for i := range s.targets {
		infos[i] = infoOf(s.targets[i].t)
	}
	return infos
}

// stopRun is one stop of the world (or single-thread suspend) in
// progress.
type stopRun struct {
	w       *World
	self    *Thread
	targets []target
	// pooled: targets is the world's reusable buffer, given back when
	// the run ends without a stop to show for it.
	pooled bool
}

type target struct {
	t *Thread
	// requested: this run's request was applied to the thread; a
	// rollback undoes only what was requested.
	requested bool
	// fromRunning: the request found the thread running, so a pending
	// operation waits for its poll; a rollback aborts it.
	fromRunning bool
	// aborted: the rollback withdrew the request; the thread holds no
	// count of this stop.
	aborted bool
	// mopup: the first phase left the thread in its blocking region for
	// the mop-up phase (hybrid, preemptive).
	mopup bool
}

// Stop stops every attached thread except the initiator (see By), the way
// the world's policy says, and returns once they are all stopped: parked
// at a safepoint, parked on the way out of a blocking region, or still
// inside one. It holds the world's suspend lock until Restart.
//
// If the threads do not all stop before ctx is done or the world's stop
// timeout passes, Stop withdraws every request it made, resumes the threads
// that did stop, and returns a *StopTimeoutError that names the threads
// that did not, with where their goroutines were and the world's dump at
// that moment; the world stays usable. A call on the goroutine that holds
// a stop it has not restarted fails at once with ErrWaitsForItself.
//
// Everything the stopped threads did before they stopped happens before
// Stop returns, so the initiator may read their state without a data race
// until Restart (the package documentation, "What the initiator may
// read").
func (w *World) Stop(ctx context.Context, opts ...StopOption) (*Stopped, error) {
	cfg, err := w.stopConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := w.CheckSignals(); err != nil {
		return nil, err
	}
	ctx, cancel := w.withTimeout(ctx)
	defer cancel()
	region := trace.StartRegion(ctx, "coopsuspend.Stop")
	defer region.End()
	start := time.Now()
	if err := w.acquireOpen(ctx, cfg.self, "Stop"); err != nil {
		return nil, err
	}
	r := &stopRun{w: w, self: cfg.self}
	defer r.unwindOnPanic()
	w.initiator.Store(cfg.self)
	w.checkBalanced()
	testHook("Stop", "locked")

	r.targets, r.pooled = w.snapshot(cfg.self), true
	w.notifier.ClearArrivals()
	if err := r.checkLimit("Stop"); err != nil {
		r.end()
		return nil, err
	}
	needMopup := r.requestAll()
	testHook("Stop", "requested")
	if needMopup && w.policy == Preemptive {
		// Preemptive suspends the threads in system calls at once,
		// while the running ones make their way to a poll.
		if err := r.mopup(ctx); err != nil {
			return nil, r.fail(err)
		}
		needMopup = false
	}
	if err := w.notifier.Wait(ctx); err != nil {
		return nil, r.fail(err)
	}
	slowest := Arrival{Wait: time.Since(start)}
	if last := w.notifier.LastArrival(); last != nil {
		slowest.Thread = last.Name
	}
	testHook("Stop", "waited")
	if needMopup {
		if err := r.mopup(ctx); err != nil {
			return nil, r.fail(err)
		}
	}

	s := &Stopped{world: w, ctx: ctx, self: cfg.self, start: start, targets: r.targets, slowest: slowest}
	w.stopG.Store(goid.G())
	testHook("Stop", "stopped")
	took := time.Since(start)
	w.stats.stopped(took, slowest)
	if w.logger.Enabled(ctx, slog.LevelDebug) {
		w.logger.DebugContext(ctx, "suspend: world stopped", "threads", len(s.targets),
			"policy", w.policy.String(), "took", took)
	}
	return s, nil
}

// requestAll applies the first phase to every target and reports whether
// any needs the mop-up phase. The threads the last stop found running are
// requested first: until it is requested, a running thread competes with
// the initiator for a CPU, and with a few busy threads and many idle
// ones, asking the busy ones last kept them running through the whole
// loop over the idle ones. The order is only a hint (the targets are the
// registry's, and change little from one stop to the next); every target
// is requested once, whatever the hint says.
func (r *stopRun) requestAll() (needMopup bool) {
	w := r.w
	for _, k := range w.hot {
		if int(k) < len(r.targets) {
			needMopup = r.request(&r.targets[k]) || needMopup
		}
	}
	w.hot = w.hot[:0]
	for i := range r.targets {
		tg := &r.targets[i]
		if !tg.requested {
			needMopup = r.request(tg) || needMopup
		}
		if tg.fromRunning && len(w.hot) < maxHot {
			w.hot = append(w.hot, int32(i))
		}
	}
	return needMopup
}

// maxHot bounds the hint of running threads a stop keeps for the next.
const maxHot = 1024

// checkLimit fails, before anything is requested, if a target's suspend
// count is at its limit (the caller holds the suspend lock, and only its
// holder changes counts). With no SuspendThread outstanding every count
// is 0, and the check costs nothing per thread.
func (r *stopRun) checkLimit(op string) error {
	if r.w.holds == 0 {
		if threadstate.Checked { // coopcheck build: prove the shortcut
			for _, tg := range r.targets {
				if wd := tg.t.Word(); wd.Count() != 0 {
					panic(internalError(tg.t, fmt.Errorf("%s: suspend count %d with no SuspendThread outstanding", op, wd.Count())))
				}
			}
		}
		return nil
	}
	for _, tg := range r.targets {
		if wd := tg.t.Word(); wd.Count() >= threadstate.MaxCount {
			return fmt.Errorf("suspend: %s: thread %q: %w (%d outstanding suspends; %v)",
				op, tg.t.c.Name, ErrSuspendLimit, wd.Count(), wd)
		}
	}
	return nil
}

// unwindOnPanic, deferred by every operation that requests suspends under
// the suspend lock, keeps the world usable when something below panics (a
// test hook, an internal error): it withdraws what the run requested,
// releases the world, and panics on.
func (r *stopRun) unwindOnPanic() {
	p := recover()
	if p == nil {
		return
	}
	defer panic(p)
	defer r.end() // even if the rollback panics too
	r.rollback()
}

// end finishes a run that holds the suspend lock without a stop to show
// for it: nobody is the initiator any more, and the world is released.
func (r *stopRun) end() {
	if r.pooled {
		r.w.recycleTargets(r.targets)
		r.targets, r.pooled = nil, false
	}
	r.w.initiator.Store(nil)
	r.w.release()
}
func (w *World) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.timeout > 0 {
		return context.WithTimeoutCause(ctx, w.timeout,
			fmt.Errorf("stop timeout of %v passed: %w", w.timeout, context.DeadlineExceeded))
	}
	return context.WithCancel(ctx)
}

// request is the first phase for one thread (Mono's
// request_suspension_cordially). It reports whether the thread needs the
// hybrid mop-up phase.
func (r *stopRun) request(tg *target) bool {
	if tg.requested {
		return false
	}
	res, err := tg.t.c.Cell.Apply(threadstate.RequestSuspension)
	if err != nil {
		panic(internalError(tg.t, err))
	}
	tg.requested = true
	switch res {
	case threadstate.ReqSuspendInitSuspendRunning:
		// Go code stops only at its polls, in every policy (rule 1).
		tg.fromRunning = true
		r.w.notifier.Add(1)
		if f := tg.t.onRequest; f != nil {
			// After the request is on the word, before anyone waits for
			// the poll: a thread that polls through a channel (or waits
			// on one) is nudged toward its poll here.
			f(tg.t)
		}
	case threadstate.ReqSuspendInitSuspendBlocking:
		// In its blocking region it counts as stopped; hybrid looks at
		// it again once the running threads have stopped, preemptive
		// at once.
		tg.mopup = r.w.policy.usesSignals()
		return tg.mopup
	case threadstate.ReqSuspendAlreadySuspended, threadstate.ReqSuspendAlreadySuspendedBlocking:
		// A SuspendThread holds it already; this stop adds a count.
	}
	return false
}

// mopup is hybrid's second phase (and preemptive's first): every thread
// still BlockingSuspendRequested is suspended asynchronously if it is
// inside a wrapped system call. The others stay in their region and count
// as stopped, as in coop (ThreadInfo.InSafeRegion).
func (r *stopRun) mopup(ctx context.Context) error {
	for i := range r.targets {
		tg := &r.targets[i]
		if tg.mopup {
			if err := r.w.suspendAsync(ctx, tg.t); err != nil {
				return err
			}
		}
	}
	return nil
}

// asyncBackoff is how long the initiator waits before asking again a
// thread whose handler declined while it was inside the kernel entry's
// few instructions around the system call (a critical location,
// docs/mono-protocol.md §4.4): yield, yield, 10 µs, 20 µs.
var asyncBackoff = []time.Duration{0, 0, 10 * time.Microsecond, 20 * time.Microsecond}

// suspendAsync parks t in its signal handler if it is in a wrapped system
// call. The thread cannot move while parked there, so the initiator
// applies FinishAsyncSuspend on the handler's behalf.
func (w *World) suspendAsync(ctx context.Context, t *Thread) error {
	for attempt := 0; ; attempt++ {
		res, err := t.c.Cell.Apply(threadstate.PeekBlockingSuspendRequested)
		if err != nil {
			panic(internalError(t, err))
		}
		if res != threadstate.True {
			return nil // it left its region and parked on the way out
		}
		if !recInWrapper(t) {
			// Not in a wrapped system call (a channel wait, a sleep,
			// Go code): the handler would decline, so do not signal.
			// It stays counted as stopped in its region, as in coop;
			// if it enters a wrapper meanwhile, it is there in
			// BLOCKING_SUSPEND_REQUESTED, stopped all the same.
			return nil
		}
		parked, err := recSuspendAsync(ctx, t, w.sig)
		if err != nil {
			return &asyncError{thread: t.c.Name, err: err}
		}
		if parked {
			if res, err := t.c.Cell.Apply(threadstate.FinishAsyncSuspend); err != nil || res != threadstate.True {
				panic(internalError(t, fmt.Errorf("finishing an asynchronous suspend: %v, %v", res, err)))
			}
			return nil
		}
		// Declined: the thread is not at the system call. Outside the
		// kernel entry it stays counted as stopped in its region.
		if !recInWrapper(t) || attempt == len(asyncBackoff) {
			return nil
		}
		asyncPause(t, asyncBackoff[attempt])
	}
}

// fail rolls a stop of the world back after cause, releases the world,
// and returns the error for the caller.
func (r *stopRun) fail(cause error) error {
	err := r.abandon(cause)
	r.w.checkBalanced()
	r.end()
	return err
}

// asyncError is an asynchronous suspend that failed for a reason of its
// own (the signal could not be sent, the handler did not answer), or
// because the stop's context ended while it waited for the handler.
type asyncError struct {
	thread string
	err    error
}

func (e *asyncError) Error() string {
	return fmt.Sprintf("suspending %q asynchronously: %v", e.thread, e.err)
}

func (e *asyncError) Unwrap() error { return e.err }

// abandon rolls back every request of a stop or single-thread suspend
// that failed with cause, and describes the failure: the threads that had
// not reached a safepoint, those whose goroutine has certainly ended
// (goroutineEnded; they are removed from the world), and the dump from
// before the rollback. A failure because the context ended is a
// *StopTimeoutError counted in Stats.TimedOut; any other a *StopError
// counted in Stats.Failed. The caller still holds the suspend lock.
func (r *stopRun) abandon(cause error) error {
	w := r.w
	dump := w.dumpString()
	var waiting, abandoned []string
	var stuck []StuckThread
	var gone []*Thread
	alive := sync.OnceValue(goid.Alive) // one trace of every goroutine, if any thread is waiting
	for _, tg := range r.targets {
		if wd := tg.t.Word(); tg.fromRunning && wd.State() == threadstate.AsyncSuspendRequested {
			waiting = append(waiting, tg.t.c.Name)
			stack := alive().Stack(tg.t.c.Owner)
			stuck = append(stuck, StuckThread{Name: tg.t.c.Name, Word: wd, Stack: stack, At: userFrame(stack)})
			if w.goroutineEnded(tg.t, alive) {
				abandoned = append(abandoned, tg.t.c.Name)
				gone = append(gone, tg.t)
			}
		}
	}
	r.rollback()
	for _, t := range gone {
		w.forget(t)
	}
	w.logger.Warn("suspend: a suspend failed and was rolled back", "err", cause, "waiting", waiting,
		"abandoned", abandoned, "dump", dump)
	if isTimeout(cause) {
		w.stats.timedOut()
		return &StopTimeoutError{Waiting: waiting, Stuck: stuck, Abandoned: abandoned, Dump: dump, Err: cause}
	}
	w.stats.failed()
	return &StopError{Waiting: waiting, Dump: dump, Err: cause}
}

// userFrame returns a goroutine trace's innermost call outside Go's
// runtime, the standard library's internals and this module's own
// packages, "function (file:line)", or "" when there is none.
func userFrame(stack string) string {
	for _, f := range goid.Frames(stack) {
		pkg := f.Func
		if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
			if j := strings.IndexByte(pkg[i:], '.'); j >= 0 {
				pkg = pkg[:i+j]
			}
		} else if j := strings.IndexByte(pkg, '.'); j >= 0 {
			pkg = pkg[:j]
		}
		switch {
		case pkg == "runtime", pkg == "syscall", strings.HasPrefix(pkg, "internal/"),
			strings.HasPrefix(pkg, "golang.org/x/sys/"),
			strings.HasPrefix(pkg, modulePath+"/") && !strings.HasSuffix(pkg, "_test") && !strings.Contains(pkg, "/examples/"):
			continue
		}
		return fmt.Sprintf("%s (%s:%d)", f.Func, filepath.Base(f.File), f.Line)
	}
	return ""
}

// modulePath is this module's import path, whose frames userFrame skips.
const modulePath = "github.com/coopsuspend/coopsuspend"

// isTimeout tells a failure because the context ended (its deadline, the
// stop timeout, a cancellation) from one of the machinery.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// rollback withdraws every request of a failed stop: the requests still
// waiting for a poll are aborted; the threads that stopped anyway (their
// abort says False) and the ones found blocking are resumed.
func (r *stopRun) rollback() {
	w := r.w
	for i := range r.targets {
		tg := &r.targets[i]
		if !tg.requested || !tg.fromRunning {
			continue
		}
		res, err := tg.t.c.Cell.Apply(threadstate.AbortAsyncSuspend)
		if err != nil {
			panic(internalError(tg.t, err))
		}
		if res == threadstate.True {
			// It never reached its poll and never will for this
			// request: nothing to wait for, nothing to resume.
			tg.aborted = true
			w.notifier.Cancel(1)
		}
	}
	// The threads whose abort said False are between their poll's
	// transition and its notification, with nothing in between that
	// blocks: wait for them without a deadline.
	if err := w.notifier.Wait(context.Background()); err != nil {
		panic(err)
	}
	for i := range r.targets {
		tg := &r.targets[i]
		if tg.requested && !tg.aborted {
			w.resume(tg.t)
			tg.requested = false
		}
	}
}

// resume drops one count of t (Mono's core_resume); the caller holds the
// suspend lock.
func (w *World) resume(t *Thread) threadstate.Result {
	res, err := t.c.Cell.Apply(threadstate.RequestResume)
	if err != nil {
		panic(internalError(t, err))
	}
	switch res {
	case threadstate.ResumeInitSelfResume, threadstate.ResumeInitBlockingResume:
		t.c.PostResume()
	case threadstate.ResumeInitAsyncResume:
		if t.c.Rec == nil {
			panic(internalError(t, errors.New("asynchronous resume of a thread without a signal record")))
		}
		recResumeAsync(t)
	}
	return res
}

// Restart resumes every thread the stop stopped and releases the world.
// A second Restart returns an error and changes nothing. What the
// initiator wrote before Restart happens before each thread runs again.
//
// The threads are resumed in an order that rotates from one restart to
// the next: the first ones resumed get the CPUs first, and a fixed order
// let the last ones starve under frequent stops.
func (s *Stopped) Restart() error {
	if !s.restarted.CompareAndSwap(false, true) {
		return errors.New("suspend: Restart: the world was already restarted")
	}
	w := s.world
	region := trace.StartRegion(s.ctx, "coopsuspend.Restart")
	defer region.End()
	n := len(s.targets)
	from := 0
	if n > 0 {
		w.wakeFrom = (w.wakeFrom + 1) % n
		from = w.wakeFrom
	}
	if w.logger.Enabled(s.ctx, slog.LevelDebug) {
		defer func(n int) {
			w.logger.Debug("suspend: world restarted", "threads", n, "pause", time.Since(s.start))
		}(n)
	}
	resumed := 0
	defer func() {
		if p := recover(); p != nil {
			s.unwindRestart(from, resumed)
			panic(p)
		}
	}()
	for resumed < n {
		t := s.targets[(from+resumed)%n].t
		res := w.resume(t)
		resumed++
		if res == threadstate.ResumeError {
			panic(internalError(t, errors.New("a stopped thread was not suspended at restart")))
		}
		testHook("Restart", "resumed-one")
	}
	// A resume adds no pending operation (the threads resumed post
	// nothing), so there is nothing to wait for.
	testHook("Restart", "resumed")
	s.finish()
	w.stats.restarted(time.Since(s.start))
	return nil
}

// finish releases the world after the last resume, and drops the stop's
// hold on its threads (so that a thread whose goroutine ends can be
// collected while the embedder keeps the *Stopped).
func (s *Stopped) finish() {
	s.world.checkBalanced()
	s.release()
}

// release gives the target buffer back, drops the stop's hold on its
// threads and releases the world.
func (s *Stopped) release() {
	w := s.world
	w.recycleTargets(s.targets)
	s.targets = nil
	w.initiator.Store(nil)
	w.stopG.Store(0)
	w.release()
}

// unwindRestart keeps the world usable after a panic inside Restart:
// the threads not resumed yet are resumed, and the world is released. A
// resume that panicked itself counts as done: resuming twice could drop
// a SuspendThread's hold.
func (s *Stopped) unwindRestart(from, resumed int) {
	w := s.world
	defer s.release()
	n := len(s.targets)
	for k := resumed; k < n; k++ {
		w.resume(s.targets[(from+k)%n].t)
	}
}

func infoOf(t *Thread) ThreadInfo {
	wd := t.Word()
	ctx := t.asyncContext(wd)
	return ThreadInfo{
		Thread:       t,
		Name:         t.c.Name,
		ID:           t.c.ID,
		Tid:          int(t.c.Tid),
		Word:         wd,
		Parked:       wd.State().IsParked(),
		InSafeRegion: wd.State() == threadstate.BlockingSuspendRequested,
		Async:        wd.State() == threadstate.BlockingAsyncSuspended,
		Context:      ctx,
		Where:        t.where(ctx),
	}
}

// asyncContext returns the registers the signal handler saved when the
// word says the thread is parked there, else nil. It is nil too when the
// park is ending: the word was read before a concurrent resume (a Dump
// racing Restart or ResumeThread), and the record no longer holds the
// registers.
func (t *Thread) asyncContext(wd threadstate.Word) *arch.Context {
	if wd.State() != threadstate.BlockingAsyncSuspended {
		return nil
	}
	ctx, ok := t.c.Rec.Context()
	if !ok {
		return nil
	}
	return &ctx
}

// where describes where a stopped thread is, when it is in a wrapped
// system call: from the saved context if the handler parked it, else from
// the record's in-entry mark. "" when unknown.
func (t *Thread) where(ctx *arch.Context) string {
	caller := ""
	if pc := t.c.SyscallCaller.Load(); pc != 0 {
		fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
		caller = fmt.Sprintf(" called from %s (%s:%d)", fr.Function, fr.File, fr.Line)
	}
	switch {
	case ctx != nil:
		return "in a system call at " + ctx.Where().String() + caller
	case t.c.Rec != nil && t.c.Rec.InWrapper():
		return "in a wrapped system call" + caller
	}
	return ""
}

// internalError reports a transition the initiator's protocol should never
// meet: a bug in this package, or a thread-side misuse that broke the
// protocol (for example a thread polling from the wrong goroutine).
func internalError(t *Thread, err error) error {
	var te *threadstate.TransitionError
	if errors.As(err, &te) {
		te = te.WithThread(t.c.Name)
		return fmt.Errorf("coopsuspend: internal error: %w", te)
	}
	return fmt.Errorf("coopsuspend: internal error: thread %q (%v): %w", t.c.Name, t.Word(), err)
}
