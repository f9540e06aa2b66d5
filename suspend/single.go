package suspend

import (
	"context"
	"fmt"

	"github.com/coopsuspend/coopsuspend/threadstate"
)

// SuspendThread stops one thread and leaves it stopped until a matching
// ResumeThread (Mono's single-thread suspend, with the suspend kept across
// the suspend lock). Suspends nest: each SuspendThread adds a count, each
// ResumeThread removes one, and a stop of the world in between adds and
// removes its own. A thread inside a blocking region counts as suspended
// at once and parks if it leaves the region. If the thread does not reach a
// safepoint before ctx is done or the stop timeout passes, the request is
// withdrawn and a *StopTimeoutError returned. Once it returns nil,
// everything t did before it stopped happens before the caller's next
// step, as after Stop.
func (w *World) SuspendThread(ctx context.Context, t *Thread, opts ...StopOption) error {
	cfg, err := w.stopConfig(opts)
	if err != nil {
		return err
	}
	if err := w.checkTarget(t, cfg.self, "SuspendThread"); err != nil {
		return err
	}
	if err := w.CheckSignals(); err != nil {
		return err
	}
	ctx, cancel := w.withTimeout(ctx)
	defer cancel()
	if err := w.acquireOpen(ctx, cfg.self, "SuspendThread"); err != nil {
		return err
	}
	r := &stopRun{w: w, self: cfg.self, targets: []target{{t: t}}}
	defer r.unwindOnPanic()
	testHook("SuspendThread", "locked")
	if err := w.checkRegistered(t, "SuspendThread"); err != nil {
		r.end()
		return err
	}
	if cfg.self == nil && t.ownsCaller() {
		// The thread would stop at its next poll, which this goroutine,
		// waiting here, would never reach.
		r.end()
		return fmt.Errorf("suspend: SuspendThread(%q) called on the thread's own goroutine: a thread cannot suspend itself: %w",
			t.c.Name, ErrWaitsForItself)
	}
	if err := r.checkLimit("SuspendThread"); err != nil {
		r.end()
		return err
	}
	w.checkBalanced()
	mopup := r.request(&r.targets[0])
	testHook("SuspendThread", "requested")
	err = w.notifier.Wait(ctx)
	if err == nil && mopup {
		err = w.suspendAsync(ctx, t)
	}
	if err != nil {
		return r.fail(err)
	}
	testHook("SuspendThread", "waited")
	t.holds++
	w.holds++
	w.checkBalanced()
	r.end()
	return nil
}

// ResumeThread undoes one SuspendThread of t. It returns an error, and
// changes nothing, if no SuspendThread of t is outstanding: a thread that
// runs, is detached, or is held only by a stop of the world. What the
// caller wrote before ResumeThread happens before t runs again.
func (w *World) ResumeThread(t *Thread, opts ...StopOption) error {
	cfg, err := w.stopConfig(opts)
	if err != nil {
		return err
	}
	if err := w.checkTarget(t, cfg.self, "ResumeThread"); err != nil {
		return err
	}
	if err := w.acquireOpen(context.Background(), cfg.self, "ResumeThread"); err != nil {
		return err
	}
	// Released by defer, so that a panic below leaves the world usable.
	defer w.release()
	testHook("ResumeThread", "locked")
	if err := w.checkRegistered(t, "ResumeThread"); err != nil && t.holds == 0 {
		return err
	}
	if t.holds == 0 {
		return fmt.Errorf("suspend: ResumeThread(%q): the thread is not suspended by SuspendThread (%v)",
			t.c.Name, t.Word())
	}
	w.checkBalanced()
	res := w.resume(t)
	t.holds--
	w.holds--
	if res == threadstate.ResumeError {
		panic(internalError(t, fmt.Errorf("a thread held by SuspendThread was not suspended")))
	}
	testHook("ResumeThread", "resumed")
	w.checkBalanced()
	return nil
}

// checkRegistered fails, with an error wrapping ErrDetached, unless t is
// still one of the world's threads: it has not detached, and the world has
// not removed it because its goroutine ended without Detach (a request to
// such a thread would wait for a poll that never comes). The caller holds
// the suspend lock, under which both happen.
func (w *World) checkRegistered(t *Thread, op string) error {
	switch {
	case !t.Word().State().IsLive():
		return fmt.Errorf("suspend: %s(%q): %w (%v)", op, t.c.Name, ErrDetached, t.Word())
	case !w.registeredLocked(t):
		return fmt.Errorf("suspend: %s(%q): %w: the world removed it because its goroutine ended without Detach (%v)",
			op, t.c.Name, ErrDetached, t.Word())
	}
	return nil
}

func (w *World) checkTarget(t, self *Thread, op string) error {
	switch {
	case t == nil:
		return fmt.Errorf("suspend: %s(nil)", op)
	case w.lock == nil:
		return fmt.Errorf("%s(%q): %w", op, t.c.Name, errZeroWorld)
	case t.world != w:
		return fmt.Errorf("suspend: %s(%q): the thread belongs to another world", op, t.c.Name)
	case t == self:
		return fmt.Errorf("suspend: %s(%q): a thread cannot suspend or resume itself", op, t.c.Name)
	}
	return nil
}

// Interrupt makes t's wrapped system call in progress (safepoint.Syscall6
// and its helpers) return safepoint.ErrInterrupted, or, if t is between
// wrapped calls, its next one: Mono's abort_syscall. It needs a policy
// with signals (hybrid or preemptive). It does not take the suspend lock
// and may be called during a stop.
func (w *World) Interrupt(t *Thread) error {
	if err := w.checkTarget(t, nil, "Interrupt"); err != nil {
		return err
	}
	if !w.policy.usesSignals() || t.c.Rec == nil {
		return fmt.Errorf("suspend: Interrupt(%q): policy %v has no signals; use hybrid or preemptive", t.c.Name, w.policy)
	}
	if err := w.CheckSignals(); err != nil {
		return fmt.Errorf("suspend: Interrupt(%q): %w", t.c.Name, err)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.registeredLocked(t) {
		return fmt.Errorf("suspend: Interrupt(%q): %w (%v)", t.c.Name, ErrDetached, t.Word())
	}
	if err := t.c.Rec.Interrupt(w.sig); err != nil {
		return fmt.Errorf("suspend: Interrupt(%q): %w", t.c.Name, err)
	}
	return nil
}
