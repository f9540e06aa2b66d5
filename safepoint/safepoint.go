package safepoint

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// coreOf returns the shared record of t. suspend.Thread keeps its
// core.Thread as its first field, so the conversion is of a pointer to a
// struct into a pointer to its first field (unsafe.Pointer rule 1);
// TestCoreLayout checks the assumption.
func coreOf(t *suspend.Thread) *core.Thread {
	return (*core.Thread)(unsafe.Pointer(t))
}

// Poll is a safepoint. If a suspender has asked the thread to stop, Poll
// notifies it and parks the goroutine until it is resumed; otherwise it
// returns at once. Call it where the runtime may stop: at backward
// branches and calls of the interpreter loop.
//
// The fast path is one atomic load of the thread's state word and one
// compare, and Poll inlines into its caller. Polling inside a
// no-safepoints region or a blocking region, or after Detach, panics
// with a *threadstate.TransitionError naming the thread.
func Poll(t *suspend.Thread) {
	if (*core.Thread)(unsafe.Pointer(t)).Cell.Load() != core.PollClear {
		pollSlow(t)
	}
}

// pollSlow is Poll's slow path, kept out of line so that Poll inlines.
//
//go:noinline
func pollSlow(t *suspend.Thread) { coreOf(t).PollSlow() }

// EnterSafe enters a blocking region: until ExitSafe the thread promises
// not to touch the runtime's shared state (heap, interpreter structures),
// and a stop of the world does not wait for it. Use it around calls that
// may block: I/O, locks, channel operations, sleeps. If a stop is already
// waiting for the thread, EnterSafe first parks at a safepoint.
//
// Blocking regions do not nest, and may not be entered inside a
// no-safepoints region; both panic with a *threadstate.TransitionError.
func EnterSafe(t *suspend.Thread) { coreOf(t).EnterSafe() }

// ExitSafe leaves the blocking region. If the world is stopped, or a
// SuspendThread holds the thread, it parks until the thread is resumed:
// code after ExitSafe never runs while the thread counts as stopped.
func ExitSafe(t *suspend.Thread) { coreOf(t).ExitSafe() }

// Blocking runs fn inside a blocking region: EnterSafe, fn, ExitSafe. The
// region is left even if fn panics.
func Blocking(t *suspend.Thread, fn func()) {
	c := coreOf(t)
	c.EnterSafe()
	defer c.ExitSafe()
	fn()
}

// Cookie records what EnterUnsafe did, for ExitUnsafe to undo.
type Cookie struct {
	t       *core.Thread
	reenter bool
}

// EnterUnsafe enters GC-unsafe mode from whatever mode the thread is in:
// from a blocking region it leaves the region (parking if the world is
// stopped) until ExitUnsafe re-enters it; in GC-unsafe code it does
// nothing but poll if a stop is waiting. Runtimes use the pair around a
// callback into guest code from a native call made in a blocking region.
func EnterUnsafe(t *suspend.Thread) Cookie {
	c := coreOf(t)
	return Cookie{t: c, reenter: c.EnterUnsafe()}
}

// ExitUnsafe undoes the EnterUnsafe that returned c. A cookie from another
// thread, or the zero Cookie, panics with a *threadstate.TransitionError.
func ExitUnsafe(t *suspend.Thread, c Cookie) {
	ct := coreOf(t)
	if c.t != ct {
		panic(cookieMisuse(ct, c))
	}
	ct.ExitUnsafe(c.reenter)
}

// BeginNoSafepoints opens a no-safepoints region: until EndNoSafepoints
// the thread may not poll, block or enter a blocking region, and a stop
// waits for it to leave the region and reach its next poll. Regions do not
// nest.
func BeginNoSafepoints(t *suspend.Thread) { coreOf(t).BeginNoSafepoints() }

// EndNoSafepoints closes the region. It does not poll: a pending stop is
// honoured at the next safepoint.
func EndNoSafepoints(t *suspend.Thread) { coreOf(t).EndNoSafepoints() }
