package suspend

import (
	"weak"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"
)

// The registry: which threads a world has, and how it learns that one
// has ended without Detach.
//
// A goroutine that returns or panics while attached leaves its word as it
// was (Running, usually) forever, and a stop would wait for it until its
// timeout. Go tells nobody when a goroutine ends, but it does tell when
// an object can no longer be reached: once nothing refers to a *Thread,
// nobody can poll, enter a region or Detach with it again, so the thread
// is over, whatever its word says. The registry therefore holds its
// threads weakly (weak.Pointer); a goroutine that uses its thread keeps
// it alive (a parked thread's stack refers to it, as does a running
// Blocking region's frame). After the garbage collector has found a
// *Thread unreachable, the registry's weak pointer says nil, and the next
// operation that walks the registry under the suspend lock removes the
// entry (sweep). Detection therefore takes one GC cycle after the
// goroutine's end; a handle the embedder keeps somewhere delays it for as
// long as it is kept. So a stop that is giving up, and Close, look again
// at the threads they would wait for (goroutineEnded): a thread whose
// attaching goroutine is no longer alive (internal/goid; numbers are
// never reused) has certainly ended, and so, under the hybrid and
// preemptive policies, has one whose OS thread no longer exists (a
// goroutine locked to its OS thread takes the thread with it).
//
// Who writes what: entries change only under both the suspend lock and
// mu (Attach, Detach, sweep); an initiator, which holds the suspend lock,
// reads them without mu; Dump reads them under mu.

// entry is the registry's record of one attached thread. What a dump
// must say of a thread that has been collected is kept beside the weak
// pointer.
type entry struct {
	thread weak.Pointer[Thread]
	name   string
	id     uint64
	tid    int32
	owner  uint64
	rec    *asyncsuspend.Record
}

func newEntry(t *Thread) entry {
	return entry{thread: weak.Make(t), name: t.c.Name, id: t.c.ID, tid: t.c.Tid, owner: t.c.Owner, rec: t.c.Rec}
}

// publish adds t to the registry; the caller holds the suspend lock.
func (w *World) publish(t *Thread) {
	w.mu.Lock()
	defer w.mu.Unlock()
	testHook("Attach", "publishing") // under mu: Dump must not wait for a panic here
	t.index = len(w.entries)
	w.entries = append(w.entries, newEntry(t))
}

// unregister removes t from the registry, if it is still there (a thread
// forgotten because its OS thread exited is not), and reports whether it
// was; the caller holds the suspend lock. op names the operation for the
// test hook ("" for an unwind, which marks no phase).
func (w *World) unregister(t *Thread, op string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.registeredLocked(t) {
		return false
	}
	if op != "" {
		testHook(op, "unregistering") // under mu: Dump must not wait for a panic here
	}
	w.removeLocked(t.index)
	return true
}

// removeLocked removes entry i, keeping the moved entry's thread's index
// right; the caller holds the suspend lock and mu. The record goes back
// to arch under mu, so that Interrupt never signals a record a new
// thread may reuse.
func (w *World) removeLocked(i int) {
	e := &w.entries[i]
	if e.rec != nil {
		e.rec.Unregister()
	}
	forgetOwner(e.owner)
	last := len(w.entries) - 1
	w.entries[i] = w.entries[last]
	w.entries[last] = entry{}
	w.entries = w.entries[:last]
	if i < last {
		if moved := w.entries[i].thread.Value(); moved != nil {
			moved.index = i
		}
	}
}

// snapshot returns the registered threads other than self as the targets
// of a stop, strongly held for the stop's length, and sweeps the entries
// of threads that were collected. The caller holds the suspend lock, so
// the set cannot change meanwhile, and owns the world's target buffer
// until it gives it back (recycleTargets): a steady-state stop allocates
// nothing per thread.
func (w *World) snapshot(self *Thread) []target {
	buf := w.targetBuf[:0]
	w.targetBuf = nil
	dead := false
	for i := range w.entries {
		t := w.entries[i].thread.Value()
		switch {
		case t == nil:
			dead = true
		case t != self:
			buf = append(buf, target{t: t})
		}
	}
	if dead {
		w.sweep()
	}
	return buf
}

// recycleTargets gives a stop's target buffer back to the world, cleared,
// so that it holds no thread alive; the caller holds the suspend lock.
func (w *World) recycleTargets(buf []target) {
	clear(buf)
	w.targetBuf = buf[:0]
}

// sweep removes the entries whose thread was collected; the caller holds
// the suspend lock.
func (w *World) sweep() {
	w.sweepWhere(func(e *entry) bool { return e.thread.Value() == nil })
}

// sweepWhere removes the entries that ended reports ended, counting each
// as abandoned; the caller holds the suspend lock.
func (w *World) sweepWhere(ended func(*entry) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := 0; i < len(w.entries); {
		if ended(&w.entries[i]) {
			w.removeLocked(i)
			w.stats.abandoned()
			continue
		}
		i++
	}
}

// forget removes t, a thread whose goroutine has certainly ended (its OS
// thread is gone), from the registry; the caller holds the suspend lock.
// The *Thread may live on in some variable, but nothing can use it.
func (w *World) forget(t *Thread) {
	if w.unregister(t, "") {
		w.stats.abandoned()
	}
}

// registeredLocked reports whether t is in the registry; the caller
// holds mu, or the suspend lock (entries change only under both).
func (w *World) registeredLocked(t *Thread) bool {
	return t.index < len(w.entries) && w.entries[t.index].thread.Value() == t
}

// goroutineEnded reports whether t's goroutine has certainly ended
// without Detach: its OS thread has exited (osThreadGone), or the
// goroutine that attached it is not among alive's. The registry's owner
// is the attaching goroutine, fixed at Attach: a thread is used only by
// that goroutine (or by coroutines it resumes, which run while it
// waits), so the goroutine outlives every use. alive is called only when
// needed, since reading the live goroutines stops Go's world, about
// 1.4 µs per goroutine (internal/goid). The caller holds the suspend
// lock.
func (w *World) goroutineEnded(t *Thread, alive func() goid.Set) bool {
	if t.osThreadGone() {
		return true
	}
	return w.registeredLocked(t) && !alive().Has(w.entries[t.index].owner)
}

// attachedNames sweeps the threads known to have ended and returns the
// names of those left; the caller holds the suspend lock. A thread has
// ended when it was collected, when its OS thread has exited (hybrid and
// preemptive, see forget), or when its goroutine has (goroutineEnded).
func (w *World) attachedNames() []string {
	var alive goid.Set
	if len(w.entries) > 0 {
		// Read outside mu, so that a Dump does not wait for the trace;
		// the suspend lock keeps the entries as they are meanwhile.
		alive = goid.Alive()
	}
	w.sweepWhere(func(e *entry) bool {
		return e.thread.Value() == nil || e.rec != nil && !asyncsuspend.ThreadExists(int(e.tid)) || !alive.Has(e.owner)
	})
	names := make([]string, 0, len(w.entries))
	for i := range w.entries {
		names = append(names, w.entries[i].name)
	}
	return names
}
