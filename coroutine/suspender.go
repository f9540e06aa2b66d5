package coroutine

import (
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
)

// Suspender is the body's handle on its coroutine. Use it only from the
// body, on the body's goroutine.
type Suspender[P, Y any] struct {
	sh *shared[P, Y]
}

// Yield suspends the coroutine with y; it may be resumed at once. It
// returns the value of the Resume that continues it.
func (s *Suspender[P, Y]) Yield(y Y) P {
	s.sh.out, s.sh.outYield, s.sh.outDelayed = actYield, y, false
	return s.switchOut()
}

// Delay suspends the coroutine with y until d has passed (a monotonic
// WakeAt): Resume refuses it before then.
func (s *Suspender[P, Y]) Delay(y Y, d time.Duration) P { return s.suspend(y, time.Now().Add(d)) }

// Cancel ends the coroutine as Cancelled. It does not return: the body is
// unwound (deferred calls run).
func (s *Suspender[P, Y]) Cancel() {
	s.sh.out = actCancel
	s.sh.yield(struct{}{})
	panic(errClosed)
}

// Poll is the coroutine's safepoint: if it is bound to a thread
// (WithThread) and a stop of the world is pending, it parks there; if a
// preemption was requested, it suspends with a zero WakeAt and the zero
// Y; if a cancellation was requested, it ends as Cancelled. Call it where
// a loop would spin.
func (s *Suspender[P, Y]) Poll() {
	if t := s.sh.cfg.thread; t != nil {
		safepoint.Poll(t)
	}
	if s.sh.cancel.Load() {
		s.Cancel()
	}
	if s.sh.preempt.Load() && s.sh.preempt.Swap(false) {
		var zero Y
		s.suspend(zero, time.Time{})
	}
}

// Sleep blocks the coroutine for d in status Syscall: see Blocking.
func (s *Suspender[P, Y]) Sleep(d time.Duration) { s.Blocking(func() { time.Sleep(d) }) }

// Blocking runs fn, a call that blocks (I/O, a sleep, a lock), with the
// coroutine in status Syscall, where it is never preempted. Under a
// Scheduler, fn runs on another goroutine and the scheduler runs other
// coroutines meanwhile; the coroutine is ready again when fn returns.
// Elsewhere fn runs in place, inside the thread's blocking region when
// the coroutine is bound to one, so a stop of the world does not wait for
// it.
func (s *Suspender[P, Y]) Blocking(fn func()) {
	if s.sh.cfg.offload {
		s.sh.blocking = fn
		s.sh.blockingDone.Store(false)
		s.sh.out = actSyscall
		if !s.sh.yield(struct{}{}) {
			panic(errClosed)
		}
		return
	}
	s.sh.setStatus(Running, Syscall)
	if t := s.sh.cfg.thread; t != nil {
		safepoint.Blocking(t, fn)
	} else {
		fn()
	}
	s.sh.setStatus(Syscall, Running)
}

// Name returns the coroutine's name.
func (s *Suspender[P, Y]) Name() string { return s.sh.cfg.name }

func (s *Suspender[P, Y]) suspend(y Y, wake time.Time) P {
	s.sh.out, s.sh.outYield = actYield, y
	s.sh.outDelayed, s.sh.outWake = !wake.IsZero(), wake
	return s.switchOut()
}

// switchOut hands the thread back to the resumer and returns the next
// Resume's parameter.
func (s *Suspender[P, Y]) switchOut() P {
	if !s.sh.yield(struct{}{}) {
		panic(errClosed) // Close: unwind the body
	}
	return s.sh.param
}
