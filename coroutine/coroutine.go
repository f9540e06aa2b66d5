package coroutine

import (
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Coroutine is a stackful coroutine whose body takes P at each resume,
// suspends with Y, and returns R. Resume, Close and the body strictly
// alternate, and Outcome belongs with them; Name, RequestPreemption and
// RequestCancel may be called from any goroutine. Go's coroutine switch requires every Resume
// and Close to come from a goroutine locked to an OS thread exactly as
// the first Resume's was (both unlocked, or both on that same thread);
// otherwise the runtime aborts the program.
type Coroutine[P, Y, R any] struct {
	shared[P, Y]
	fn func(*Suspender[P, Y], P) R
	// state is what Resume returns, but for its Status, which lives in
	// shared (the body moves it too) and is copied in by result: one
	// place for the status, so an Outcome can never disagree with Status().
	// Written by Resume's side only.
	state Outcome[Y, R]
	// plain: no listeners, thread or monitor, so a resumed yield needs
	// only the switch (Resume's fast path).
	plain bool
	next  func() (handoff[Y], bool)
	stop  func()
	// susp is the body's Suspender, kept here rather than allocated
	// when the body starts: the body allocates yieldIn's refusal
	// instead, and a coroutine costs no more allocations than before.
	susp Suspender[P, Y]
}

// shared is what the body's Suspender and the coroutine both touch. The
// body writes outWake (and, as it ends, out) before it switches back;
// Resume writes param before it switches in, and files out after. The
// switch orders the accesses.
type shared[P, Y any] struct {
	cfg config
	// status is written by whichever side runs (the resumer or the body,
	// which alternate) and read by the same; not atomic, because a
	// status change happens twice per round trip and an atomic store
	// costs as much as the rest of it.
	status Status

	param P
	// out is how the body last switched back, filed by Resume's side
	// from the handoff (the body's defer sets the final one itself).
	out     action
	outWake time.Time

	// yield is iter.Pull's: the switch back to the resumer. yieldIn is
	// what Yield calls, by status: yield when Running, and otherwise a
	// function that panics with Yield's *StatusError before anything
	// changed. A table rather than a test and a panic in Yield, which
	// must stay small enough to be inlined into the body (see Yield).
	// Both are written once, by the body as it starts, before fn has
	// its Suspender; a Suspender reaches any other goroutine only
	// through fn, so after that.
	yield   func(handoff[Y]) bool
	yieldIn [Failed + 1]func(handoff[Y]) bool
	// bodyG and bodyID identify the body's goroutine (goid.G, and its
	// number in the coopcheck build), written by the body as it starts:
	// the resumer hands the thread to it before each switch (handOver).
	bodyG   uintptr
	bodyID  uint64
	preempt atomic.Bool
	cancel  atomic.Bool

	// The slice's own clock (Suspender.Poll, readClock), with a monitor
	// only: sliceStart is when the current slice began, lastRead when
	// the body last read the clock, pollsLeft the polls until it reads
	// it again, readAfter how many that was when counting began, and
	// pollsPerRead the count tuned at the last read. Written by the
	// resumer as a slice starts, then by the body: the switch orders
	// them.
	sliceStart, lastRead time.Time
	pollsLeft, readAfter int32
	pollsPerRead         int32

	// blocking is the call a scheduler-owned coroutine left to run off
	// the scheduler's thread (Suspender.Blocking); blockingDone is set
	// when it has returned. blockingPanic is how it ended if it did not
	// return: written by the goroutine that ran it before blockingDone
	// is set, read by the body after the scheduler resumes it. rethrown
	// is the one Blocking panicked with again in the body, so that the
	// body's recover can tell it apart and keep the call's stack.
	blocking      func()
	blockingDone  atomic.Bool
	blockingPanic *callPanic
	rethrown      *callPanic

	// target is what the monitor sees of the coroutine, made once so
	// that Enter and Leave (Resume's, and a Suspender's, which knows
	// only shared) name the same slice.
	target *monitored

	listenerPanics atomic.Int64
}

// monitored is a coroutine as its monitor sees it. The monitor samples
// an overrun on the thread that called Enter, which it looks up by OS
// thread id, a system call on every slice; a scheduler knows its thread's
// record already and hands it over here instead (cfg.rec, the record of
// the thread that resumes the coroutine and so runs it). A coroutine of
// New leaves it nil, and the monitor looks.
type monitored struct {
	monitor.Target
	cfg *config
}

// ThreadRecord implements asyncsuspend.OnThread.
func (m *monitored) ThreadRecord() *asyncsuspend.Record { return m.cfg.rec }

// handoff is what the body passes back at a switch: how it switched,
// and the value it suspended with (actYield, actDelayed). It travels as
// iter.Pull's value, not through shared, so that Yield stores nothing
// before its switch: a refused Yield must change nothing (see yieldIn).
type handoff[Y any] struct {
	act action
	y   Y
}

// action is how the body last switched back to Resume.
type action uint8

const (
	actYield   action = iota // suspended, resumable at once; the zero action, which Yield leaves unset
	actDelayed               // suspended until outWake (Delay)
	actSyscall
	actCancel
	actDone
	actFailed
	actClosed
)

// callPanic is a blocking call that panicked (or called runtime.Goexit)
// on a scheduler's helper goroutine: the value, and the stack there.
type callPanic struct {
	value any
	stack []byte
}

// closedSignal is the panic value (errClosed) that unwinds a suspended
// body that Close (or Cancel) ended.
type closedSignal struct{}

var errClosed = closedSignal{}

var nextID atomic.Uint64

// New creates a Ready coroutine that will run fn. The body runs on its own
// goroutine, created at the first Resume.
//
// Options that do not apply to New (WithWorld, WithPriority) make the
// first Resume fail with an error wrapping ErrOptionScope.
func New[P, Y, R any](fn func(s *Suspender[P, Y], p P) R, opts ...Option) *Coroutine[P, Y, R] {
	return newCoroutine(fn, forNew, opts, nil)
}

// newCoroutine is New for where (New or Submit), with more applied after
// the caller's options (a scheduler's own settings).
func newCoroutine[P, Y, R any](fn func(s *Suspender[P, Y], p P) R, where scope, opts []Option,
	more func(*config)) *Coroutine[P, Y, R] {
	c := &Coroutine[P, Y, R]{fn: fn}
	c.cfg = config{logger: slog.Default()}
	c.cfg.err = c.cfg.applyOptions(where, opts)
	if more != nil {
		more(&c.cfg)
	}
	if c.cfg.name == "" {
		c.cfg.name = "coroutine-" + strconv.FormatUint(nextID.Add(1), 10)
	}
	c.status = Ready
	c.target = &monitored{Target: c, cfg: &c.cfg}
	c.plain = len(c.cfg.listeners) == 0 && c.cfg.thread == nil && c.cfg.monitor == nil
	return c
}

// body is the iterator that iter.Pull runs as the coroutine's goroutine.
func (c *Coroutine[P, Y, R]) body(yield func(handoff[Y]) bool) {
	c.bodyG = goid.G()
	if threadstate.Checked {
		c.bodyID = goid.Current()
	}
	c.adoptThread()
	s := &c.susp
	s.sh = &c.shared
	c.yield = yield
	refused := func(handoff[Y]) bool { panic(s.misuse("Yield", s.sh.status, Suspended)) }
	for st := range c.yieldIn {
		c.yieldIn[st] = refused
	}
	c.yieldIn[Running] = yield
	returned := false
	defer func() {
		r := recover()
		if r == nil && !returned {
			c.goexit(yield)
			return
		}
		if r != nil {
			if _, ok := r.(closedSignal); ok {
				c.out = actClosed
				return
			}
			c.out = actFailed
			stack := debug.Stack()
			if p := c.rethrown; p != nil && samePanic(r, p.value) {
				// Where the call panicked comes first; where the body
				// made the call, second.
				stack = append(append(p.stack, "\nraised again in the coroutine by Suspender.Blocking:\n"...), stack...)
			}
			c.state.Err = &PanicError{Name: c.cfg.name, Value: r, Stack: stack}
		}
	}()
	r := c.fn(s, c.param)
	returned = true
	c.state.Result = r
	c.out = actDone
}

// goexit ends a body that called runtime.Goexit (t.FailNow in a test)
// as Failed with ErrGoexit. A Goexit cannot be stopped, and iter.Pull
// passes one that reaches it on to the resumer, whose Resume would then
// never return; so the body's goroutine, whose own deferred calls have
// all run, switches back to the resumer as if it had failed, and stays
// parked here for good. It cannot be let go: stop would unwind it into
// iter.Pull, which passes the Goexit on to stop's caller, and no other
// goroutine may switch to a coroutine made on a locked thread. Its
// unwound stack is what the coroutine leaves behind.
func (c *Coroutine[P, Y, R]) goexit(yield func(handoff[Y]) bool) {
	c.state.Err = fmt.Errorf("coroutine %q: %w", c.cfg.name, ErrGoexit)
	c.status = Running // an in-place blocking call's status was restored by its defer
	yield(handoff[Y]{act: actFailed})
	select {} // never resumed: Resume refuses a finished coroutine, and nothing stops it
}

// samePanic reports whether a and b are the same panic value; values of a
// type that == cannot compare (a slice, a map) are never the same.
func samePanic(a, b any) (same bool) {
	defer func() { _ = recover() }()
	return a == b
}

// Name returns the coroutine's name (WithName, or a generated one).
func (c *Coroutine[P, Y, R]) Name() string { return c.cfg.name }

// Status returns the coroutine's current status, the one an Outcome that
// Resume returns at this moment would hold.
// Like Resume, call it from the resuming side (or the body), not
// concurrently with a Resume.
func (c *Coroutine[P, Y, R]) Status() Status { return c.status }

// ready moves a Suspended coroutine that is due, or a Syscall one whose
// call has returned, to Ready (a scheduler's move: open-coroutine's
// ready()). Anything else is refused.
func (c *Coroutine[P, Y, R]) ready() error {
	from := c.Status()
	switch {
	case from == Suspended && !c.state.WakeAt.IsZero() && time.Now().Before(c.state.WakeAt):
		return &StatusError{Name: c.cfg.name, From: from, To: Ready,
			Reason: "not due until " + c.state.WakeAt.Format(time.RFC3339Nano)}
	case from == Suspended:
	case from == Syscall && c.blockingDone.Load():
		c.state.Syscall = SyscallReturned
	default:
		return &StatusError{Name: c.cfg.name, From: from, To: Ready}
	}
	c.setStatus(from, Ready)
	return nil
}

// RequestCancel asks the coroutine to end as Cancelled at its next Poll
// (a scheduler's Cancel of a running coroutine).
func (c *Coroutine[P, Y, R]) RequestCancel() { c.cancel.Store(true) }

// takeBlocking returns the blocking call a Syscall coroutine left for its
// scheduler, which sets blockingDone once the call has returned.
func (c *Coroutine[P, Y, R]) takeBlocking() (fn func()) {
	fn, c.blocking = c.blocking, nil
	return fn
}

// RequestPreemption asks the coroutine to suspend at its next Poll, with a
// zero WakeAt (a monitor calls it when the time slice runs out). It is
// ignored once honoured, and by a coroutine that never polls; under a
// monitor, a request still pending when a new slice starts is dropped.
func (c *Coroutine[P, Y, R]) RequestPreemption() { c.preempt.Store(true) }

// ListenerPanics counts listener calls that panicked (each one is logged:
// see Listener).
func (c *Coroutine[P, Y, R]) ListenerPanics() int64 { return c.listenerPanics.Load() }

// Resume runs the coroutine, passing p, until it suspends or finishes, and
// returns its state. Resuming a finished coroutine returns its final state
// again. A coroutine Suspended with a WakeAt in the future, or one that is
// running (Resume from inside its own body), is refused with a
// *StatusError and nothing changes.
func (c *Coroutine[P, Y, R]) Resume(p P) (Outcome[Y, R], error) {
	// The fast path: a plain yield resumed, with nothing to tell anyone.
	// Suspended and not by a Delay: its WakeAt is zero (out keeps the
	// last switch's action until the next one).
	if c.status == Suspended && c.out == actYield && c.plain {
		c.param = p
		c.status = Running
		h, ok := c.next()
		if ok && h.act == actYield {
			c.state.Yield = h.y
			c.status = Suspended
			// What result would return, built in place: a Suspended
			// coroutine has no WakeAt here (checked above), no Result,
			// no Err and no system call.
			return Outcome[Y, R]{Status: Suspended, Yield: h.y}, nil
		}
		return c.settle(h, ok)
	}
	return c.resumeSlow(p)
}

func (c *Coroutine[P, Y, R]) resumeSlow(p P) (Outcome[Y, R], error) {
	from := c.Status()
	if c.cfg.err != nil && from == Ready {
		return c.result(), fmt.Errorf("coroutine %q: %w", c.cfg.name, c.cfg.err)
	}
	switch {
	case from.Finished():
		return c.result(), nil
	case from == Running:
		return c.result(), &StatusError{Name: c.cfg.name, From: from, To: Running, Reason: "it is running"}
	case from == Syscall && !c.blockingDone.Load():
		return c.result(), &StatusError{Name: c.cfg.name, From: from, To: Running, Reason: "its blocking call has not returned"}
	case from == Suspended && !c.state.WakeAt.IsZero() && time.Now().Before(c.state.WakeAt):
		return c.result(), &StatusError{Name: c.cfg.name, From: from, To: Running,
			Reason: "not due until " + c.state.WakeAt.Format(time.RFC3339Nano)}
	}
	if t := c.cfg.thread; t != nil {
		// No coroutine is resumed while its thread is stopped.
		safepoint.Poll(t)
	}
	c.param = p
	c.setStatus(from, Running)
	if c.next == nil {
		// Created at the first Resume: Go requires every switch to
		// happen with the OS-thread locking the coroutine was created
		// with, and the first resumer's is the one that counts.
		c.next, c.stop = iter.Pull(c.body)
	}
	if m := c.cfg.monitor; m != nil {
		// A new slice starts with no request pending: one that came
		// after the last slice ended is stale.
		c.preempt.Store(false)
		m.EnterAt(c.target, c.startSlice())
	}
	c.handOver()
	h, ok := c.next()
	c.adoptThread()
	if m := c.cfg.monitor; m != nil {
		m.Leave(c.target)
	}
	return c.settle(h, ok)
}

// handOver hands the coroutine's thread to the body's goroutine for the
// thread's goroutine checks (core.AdoptFor), just before the resumer
// switches there; before the body has started, the body adopts it
// itself.
func (sh *shared[P, Y]) handOver() {
	if sh.cfg.thread != nil && sh.bodyG != 0 {
		core.AdoptFor(unsafe.Pointer(sh.cfg.thread), sh.bodyG, sh.bodyID)
	}
}

// adoptThread tells the thread's goroutine checks (core.Adopt) that the
// calling goroutine (the resumer, or the body's own) acts as the
// coroutine's thread from now until the next switch: a nanosecond (a
// stack trace more in the coopcheck build). The fast path of Resume (no
// thread) skips it.
func (sh *shared[P, Y]) adoptThread() {
	if sh.cfg.thread != nil {
		core.Adopt(unsafe.Pointer(sh.cfg.thread))
	}
}

// result is the coroutine's Outcome, with its current status.
func (c *Coroutine[P, Y, R]) result() Outcome[Y, R] {
	s := c.state
	s.Status = c.status
	return s
}

// settle files the way the body switched back: h, or, when the body
// returned (!ok), the out its defer set.
func (c *Coroutine[P, Y, R]) settle(h handoff[Y], ok bool) (Outcome[Y, R], error) {
	if ok {
		c.out = h.act
	}
	c.state.WakeAt, c.state.Syscall = time.Time{}, NotInSyscall
	switch c.out {
	case actYield, actDelayed:
		c.state.Yield = h.y
		if c.out == actDelayed {
			c.state.WakeAt = c.outWake
		}
		c.setStatus(Running, Suspended)
	case actSyscall:
		c.state.Syscall = SyscallExecuting
		c.setStatus(Running, Syscall)
	case actCancel:
		c.handOver()
		c.stop() // unwinds the body; it ends with actClosed
		c.adoptThread()
		c.setStatus(Running, Cancelled)
	case actDone:
		c.setStatus(Running, Complete)
	case actFailed:
		c.setStatus(Running, Failed)
		if errors.Is(c.state.Err, ErrGoexit) {
			// The body's goroutine is parked for good (goexit): drop the
			// switch functions, so that nothing ever switches to it.
			c.next, c.stop = nil, nil
		}
	}
	return c.result(), nil
}

// Close ends a coroutine that is Ready or Suspended, unwinding its body
// (deferred calls run) and freeing its goroutine; it becomes Cancelled.
// Closing a finished coroutine does nothing; closing a running one (from
// its own body) is refused, and so is closing one in a blocking call that
// has not returned: its body must not unwind under the call.
func (c *Coroutine[P, Y, R]) Close() error {
	from := c.Status()
	switch {
	case from.Finished():
		return nil
	case from == Running, from == Syscall && !c.cfg.offload:
		return &StatusError{Name: c.cfg.name, From: from, To: Cancelled, Reason: "Close from inside its body"}
	case from == Syscall && !c.blockingDone.Load():
		return &StatusError{Name: c.cfg.name, From: from, To: Cancelled, Reason: "its blocking call has not returned"}
	}
	if c.stop != nil {
		c.handOver()
		c.stop()
		c.adoptThread()
	}
	c.setStatus(from, Cancelled)
	return nil
}

// refuse ends a coroutine that never ran as Failed with err: a
// scheduler's refusal to run it.
func (c *Coroutine[P, Y, R]) refuse(err error) {
	c.state.Err = err
	c.setStatus(Ready, Failed)
}

// setStatus records a move and tells the listeners.
func (sh *shared[P, Y]) setStatus(from, to Status) {
	sh.status = to
	if len(sh.cfg.listeners) != 0 {
		sh.notifyAll(from, to)
	}
}

func (sh *shared[P, Y]) notifyAll(from, to Status) {
	for _, l := range sh.cfg.listeners {
		sh.notify(l, from, to)
	}
}

func (sh *shared[P, Y]) notify(l Listener, from, to Status) {
	defer func() {
		if r := recover(); r != nil {
			// Reported, not raised again: see Listener.
			sh.listenerPanics.Add(1)
			sh.cfg.logger.Error("coroutine: a listener panicked; the coroutine goes on",
				"coroutine", sh.cfg.name, "from", from.String(), "to", to.String(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if l.OnStateChanged != nil {
		l.OnStateChanged(sh.cfg.name, from, to)
	}
	var f func(string)
	switch to {
	case Ready:
		f = l.OnReady
	case Running:
		f = l.OnRunning
	case Suspended:
		f = l.OnSuspend
	case Syscall:
		f = l.OnSyscall
	case Cancelled:
		f = l.OnCancel
	case Complete:
		f = l.OnComplete
	case Failed:
		f = l.OnError
	}
	if f != nil {
		f(sh.cfg.name)
	}
}
