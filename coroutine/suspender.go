package coroutine

import (
	"math"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Suspender is the body's handle on its coroutine. Use it only from the
// body, on the body's goroutine, while the body runs: a Suspender used
// after its body returned, from another coroutine's body, or from inside
// its own blocking call panics with a *StatusError that names the
// coroutine, its status and the method, and changes nothing.
type Suspender[P, Y any] struct {
	sh *shared[P, Y]
}

// mustRun panics unless the coroutine is Running, which is the only
// status in which its body, and so its Suspender, may act. The body
// reads status after the switch that set it (Resume writes it before
// switching in), so the check needs no synchronisation in correct use;
// a misuse from another goroutine is caught only when the status it
// reads is not Running.
func (s *Suspender[P, Y]) mustRun(method string, to Status) {
	if from := s.sh.status; from != Running {
		panic(s.misuse(method, from, to))
	}
}

func (s *Suspender[P, Y]) misuse(method string, from, to Status) *StatusError {
	return &StatusError{Name: s.sh.cfg.name, From: from, To: to, Reason: misuseReason(method, from)}
}

// misuseReason says why a Suspender method called in status from is
// refused.
func misuseReason(method string, from Status) string {
	switch {
	case from.Finished():
		return "Suspender." + method + " after the body returned"
	case from == Syscall:
		return "Suspender." + method + " inside its blocking call"
	}
	return "Suspender." + method + " outside its running body"
}

// Yield suspends the coroutine with y; it may be resumed at once. It
// returns the value of the Resume that continues it.
func (s *Suspender[P, Y]) Yield(y Y) P {
	// Yield is kept within the inliner's budget of 80 (TestYieldInlines),
	// so that it is inlined into the body and the switch is the only call
	// between the body and the resumer: each call in between costs one
	// more mispredicted return every time the switch comes back, about
	// 8 ns a round trip (BenchmarkRoundTripDepth, docs/benchmarks.md).
	// Hence the refusal by table (yieldIn) instead of a test and a panic,
	// the action left at its zero value (actYield), and the adoption
	// written out in both branches instead of kept in a variable: each
	// saves a few units, and Yield costs 77 (go build -gcflags=-m=2).
	if !s.sh.yieldIn[s.sh.status](handoff[Y]{y: y}) {
		if threadstate.Checked {
			s.sh.adoptThread()
		}
		panic(errClosed)
	}
	if threadstate.Checked {
		s.sh.adoptThread()
	}
	return s.sh.param
}

// Delay suspends the coroutine with y until d has passed (a monotonic
// WakeAt): Resume refuses it before then.
func (s *Suspender[P, Y]) Delay(y Y, d time.Duration) P {
	s.mustRun("Delay", Suspended)
	return s.suspend(y, time.Now().Add(d))
}

// Cancel ends the coroutine as Cancelled. It does not return: the body is
// unwound (deferred calls run).
func (s *Suspender[P, Y]) Cancel() {
	s.mustRun("Cancel", Cancelled)
	s.cancel()
}

func (s *Suspender[P, Y]) cancel() {
	s.sh.yield(handoff[Y]{act: actCancel})
	panic(errClosed)
}

// Poll is the coroutine's safepoint: if it is bound to a thread
// (WithThread) and a stop of the world is pending, it parks there; if a
// cancellation was requested, it ends as Cancelled; if a preemption was
// requested, or its monitor's slice is over, it suspends with a zero
// WakeAt and the zero Y. Call it where a loop would spin.
//
// With a monitor, Poll reads the clock every so many polls (a count tuned
// per coroutine to a few reads a slice) and ends the slice itself when it
// is over: the monitor's ticks need a free P, and with every P running a
// coroutine they come only at Go's own preemption, about every 10 ms.
func (s *Suspender[P, Y]) Poll() {
	s.mustRun("Poll", Running)
	if t := s.sh.cfg.thread; t != nil {
		safepoint.Poll(t)
	}
	if s.sh.cancel.Load() {
		s.cancel()
	}
	if s.sh.pollsLeft--; s.sh.pollsLeft < 0 {
		s.sh.readClock()
	}
	if s.sh.preempt.Load() && s.sh.preempt.Swap(false) {
		var zero Y
		s.suspend(zero, time.Time{})
	}
}

// Sleep blocks the coroutine for d in status Syscall: see Blocking.
func (s *Suspender[P, Y]) Sleep(d time.Duration) {
	s.mustRun("Sleep", Syscall)
	s.blocking(func() { time.Sleep(d) })
}

// Blocking runs fn, a call that blocks (I/O, a sleep, a lock), with the
// coroutine in status Syscall, where it is never preempted: it is not in
// a time slice while fn runs, and starts a new one when fn returns. If fn
// panics, Blocking panics with the same value in the body, so the
// coroutine fails (or the body recovers) exactly as if the body had
// panicked itself.
//
// Under a Scheduler, fn runs on another goroutine and the scheduler runs
// other coroutines meanwhile; the coroutine is ready again when fn
// returns. Elsewhere fn runs in place, inside the thread's blocking region
// when the coroutine is bound to one, so a stop of the world does not
// wait for it.
func (s *Suspender[P, Y]) Blocking(fn func()) {
	s.mustRun("Blocking", Syscall)
	s.blocking(fn)
}

func (s *Suspender[P, Y]) blocking(fn func()) {
	sh := s.sh
	if sh.cfg.offload {
		sh.blocking = fn
		sh.blockingDone.Store(false)
		if !sh.yield(handoff[Y]{act: actSyscall}) {
			panic(errClosed)
		}
		// The scheduler's helper goroutine wrote blockingPanic before
		// the call counted as returned; the switch back orders it.
		if p := sh.blockingPanic; p != nil {
			sh.blockingPanic, sh.rethrown = nil, p
			panic(p.value)
		}
		return
	}
	sh.setStatus(Running, Syscall)
	// Leaving Running ends the slice: the monitor neither asks a
	// coroutine in a blocking call to suspend nor counts the call's time
	// against it (the scheduler's coroutines leave it by switching out).
	m := sh.cfg.monitor
	if m != nil {
		m.Leave(sh.target)
	}
	// Deferred, so that a call that panics leaves the coroutine Running
	// in a new slice, exactly as if the body had panicked itself: the
	// body may recover and go on.
	defer func() {
		sh.setStatus(Syscall, Running)
		if m != nil {
			// As at Resume: a new slice, and any request that came in
			// the meantime is stale (Leave and this store are ordered by
			// the monitor's lock, so no tick of the old slice lands
			// after it).
			sh.preempt.Store(false)
			m.EnterAt(sh.target, sh.startSlice())
		}
	}()
	if t := sh.cfg.thread; t != nil {
		safepoint.Blocking(t, fn)
	} else {
		fn()
	}
}

// Name returns the coroutine's name.
func (s *Suspender[P, Y]) Name() string { return s.sh.cfg.name }

// Thread returns the thread the coroutine runs as now: its WithThread, or
// the thread of the scheduler's runner that resumed it (WithWorld); nil
// if none. Call it from the body: a scheduler's coroutine may run as
// another runner's thread after each switch.
func (s *Suspender[P, Y]) Thread() *suspend.Thread { return s.sh.cfg.thread }

func (s *Suspender[P, Y]) suspend(y Y, wake time.Time) P {
	h := handoff[Y]{act: actYield, y: y}
	if !wake.IsZero() {
		h.act, s.sh.outWake = actDelayed, wake
	}
	return s.switchOut(h)
}

// switchOut hands the thread back to the resumer with h and returns the
// next Resume's parameter.
func (s *Suspender[P, Y]) switchOut(h handoff[Y]) P {
	ok := s.sh.yield(h)
	s.sh.adoptThread()
	if !ok {
		unwindClosed()
	}
	return s.sh.param
}

// unwindClosed unwinds a body whose coroutine was closed while it was
// switched out; out of line, so that switchOut stays small.
//
//go:noinline
func unwindClosed() { panic(errClosed) }

// Bounds of the polls between two clock reads (readClock).
const (
	firstPollsPerRead = 64
	maxPollsPerRead   = 1 << 14
)

// startSlice starts the slice's own clock as the coroutine enters
// Running with a monitor. The slice's first read comes after at most
// firstPollsPerRead polls, so that a loop whose polls have slowed down
// since its last slice is measured again early. It returns the slice's
// start, for the monitor.
func (sh *shared[P, Y]) startSlice() time.Time {
	now := time.Now()
	sh.sliceStart, sh.lastRead = now, now
	if sh.pollsPerRead == 0 {
		sh.pollsPerRead = firstPollsPerRead
	}
	sh.pollsLeft = min(sh.pollsPerRead, firstPollsPerRead)
	sh.readAfter = sh.pollsLeft
	return now
}

// readClock is Poll's look at the slice's own clock, when the polls
// counted since the last read run out: it requests the preemption if the
// monitor's slice is over, and sets how many polls to let pass before the
// next read so that it comes an eighth of a slice later at the rate just
// measured (at most four times as many as the last count, at most
// maxPollsPerRead). A read (time.Now) costs about 20 ns: a loop that
// polls every nanosecond pays it every 16,384 polls, about 0.1%; a slice
// ends about an eighth of a slice late, unless the loop's polls slow down
// within the slice. The monitor's ticks bound that: they ask too,
// whenever they get a P. Without a monitor readClock only puts the next
// call off for 2^31 polls.
func (sh *shared[P, Y]) readClock() {
	m := sh.cfg.monitor
	if m == nil {
		sh.pollsLeft = math.MaxInt32
		return
	}
	now := time.Now()
	polls, gap, target := int64(sh.readAfter), now.Sub(sh.lastRead), m.Slice()/8
	next := 4 * polls
	if gap > 0 {
		next = min(next, polls*int64(target)/int64(gap))
	}
	sh.pollsPerRead = int32(max(1, min(next, maxPollsPerRead)))
	sh.lastRead = now
	sh.pollsLeft, sh.readAfter = sh.pollsPerRead, sh.pollsPerRead
	if m.SliceOver(sh.sliceStart, now) {
		sh.preempt.Store(true)
	}
}
