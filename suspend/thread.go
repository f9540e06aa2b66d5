package suspend

import (
	"context"
	"fmt"
	"runtime"

	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Thread is an attached goroutine: a guest thread of the runtime. Its
// thread-side operations (polls, blocking regions) are in package
// safepoint; the initiator side (stops, single-thread suspends) is on
// World.
type Thread struct {
	// c must stay the first field: package safepoint reaches the core
	// record by converting a *Thread pointer.
	c core.Thread

	world  *World
	index  int  // position in world.threads; guarded by world.mu
	locked bool // Attach locked the goroutine to its OS thread

	// detached is set by Detach (thread only).
	detached bool

	// holds counts SuspendThread calls not yet matched by ResumeThread;
	// guarded by the suspend lock.
	holds int

	// onRequest is OnRequest's function, or nil; set by Attach.
	onRequest func(*Thread)

	// value is WithValue's value, or nil; set by Attach before the thread
	// is published, never written again.
	value any

	// ownerG is the attaching goroutine's token (goid.G), set by Attach:
	// a SuspendThread from it would wait for itself. (c.OwnerG moves to a
	// coroutine's goroutine while one runs on the thread.)
	ownerG uintptr
}

// ownsCaller reports whether the calling goroutine is the one that
// attached t. The token compare is a nanosecond; a match is confirmed by
// the goroutine's number, since the runtime hands an ended goroutine's
// token on to a new one (and t may be such a goroutine's, not yet
// removed).
func (t *Thread) ownsCaller() bool {
	return t.ownerG == goid.G() && t.c.Owner == goid.Current()
}

// Name returns the name given to Attach.
func (t *Thread) Name() string { return t.c.Name }

// ID returns the thread's identifier, unique within its world.
func (t *Thread) ID() uint64 { return t.c.ID }

// Tid returns the OS thread id the goroutine is locked to, or 0 when the
// policy does not lock it.
func (t *Thread) Tid() int { return int(t.c.Tid) }

// Word returns the thread's current state word.
func (t *Thread) Word() threadstate.Word { return t.c.Cell.Load() }

// Value returns the value given to Attach with WithValue, or nil. It may
// be called from any goroutine.
func (t *Thread) Value() any { return t.value }

// Attached reports whether t is still one of its world's threads: false
// once it has detached, or once the world has removed it because its
// goroutine ended without Detach (see World.Attach). An adapter that keeps
// its own list of a world's threads filters it with Attached. It may be
// called from any goroutine, also while the world is stopped.
func (t *Thread) Attached() bool {
	w := t.world
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.registeredLocked(t)
}

// Held reports whether a stop of the world or a SuspendThread holds t and
// it runs none of the runtime's code: it is parked, or inside a blocking
// region that it will not leave without parking. Once Stop or
// SuspendThread has returned, the initiator may read what a held thread
// did before it stopped (see Stop). It may be called from any goroutine.
func (t *Thread) Held() bool {
	wd := t.Word()
	s := wd.State()
	return wd.Count() > 0 && s != threadstate.Running && s != threadstate.AsyncSuspendRequested
}

// World returns the world the thread is attached to.
func (t *Thread) World() *World { return t.world }

// ThreadStats counts what a thread's slow paths did.
type ThreadStats struct {
	Parks     int64 // times it parked for a suspender
	SlowPolls int64 // polls that found a request (or a misuse)
}

// Stats returns the thread's counters.
func (t *Thread) Stats() ThreadStats {
	parks, slow := t.c.Counts()
	return ThreadStats{Parks: parks, SlowPolls: slow}
}

// Detach unregisters the thread. Call it on the thread's own goroutine,
// outside any no-safepoints region. It may be called inside a blocking
// region: it ends the region, and the ExitSafe that would have closed it
// (Blocking's, or the caller's own) then does nothing. While a stop or a
// SuspendThread holds the thread, Detach lets it finish first: it waits
// in a blocking region and, if the thread is still held when it gets the
// suspend lock, parks until resumed and tries again, so no resume is
// lost.
//
// Detach fails, and changes nothing, when the thread has detached already
// (ErrDetached) or holds a stop of the world it made with By(self): it
// would wait for its own Restart.
func (t *Thread) Detach() error {
	if t.detached {
		return fmt.Errorf("suspend: Detach(%q): %w already (%v)", t.c.Name, ErrDetached, t.Word())
	}
	w := t.world
	if w.initiator.Load() == t {
		return fmt.Errorf("suspend: Detach(%q): the thread holds a stop of the world (By); Restart it first (%v)",
			t.c.Name, t.Word())
	}
	inUserRegion := t.c.InSafeRegion()
	var locked bool
	defer func() {
		if p := recover(); p != nil {
			t.unwindDetach(inUserRegion, locked)
			panic(p)
		}
	}()
	for {
		if !t.c.InSafeRegion() {
			t.c.EnterSafe()
		}
		testHook("Detach", "entered")
		if err := w.acquire(context.Background(), nil, "Detach"); err != nil {
			panic(err) // a context that is never done: acquire cannot fail
		}
		locked = true
		testHook("Detach", "locked")
		if t.c.TryDetach(inUserRegion) {
			testHook("Detach", "detached")
			w.unregister(t, "Detach") // also forgets the owner (coopcheck)
			testHook("Detach", "unregistered")
			locked = false
			w.release()
			break
		}
		// A SuspendThread holds us. Leaving the region parks until it
		// resumes us; then try again.
		locked = false
		w.release()
		t.c.ExitSafe()
	}
	t.detached = true
	if t.locked {
		runtime.UnlockOSThread()
	}
	return nil
}

// unwindDetach keeps the world usable after a panic inside Detach: a
// thread that detached leaves the registry; one that did not is back in
// the region state it was called in.
func (t *Thread) unwindDetach(inUserRegion, locked bool) {
	w := t.world
	if t.Word().State() == threadstate.Detached {
		if locked {
			w.unregister(t, "") // if the panic came before it did
		}
		t.detached = true
		if t.locked {
			runtime.UnlockOSThread()
		}
	}
	if locked {
		w.release()
	}
	if !t.detached && !inUserRegion && t.c.InSafeRegion() {
		t.c.ExitSafe()
	}
}
