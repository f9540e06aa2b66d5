package main

// A stop-the-world mark-and-sweep collector for the guest heap. It runs
// only while the world is stopped: every guest thread is parked at a
// safepoint or inside a blocking region, so no register, stack or
// allocation list changes under it.

type gcCycle struct {
	live, freed int
}

// collect marks from every thread's registers and stack and sweeps every
// thread's allocation list. Call it only between Stop and Restart.
func collect(threads []*thread) gcCycle {
	var c gcCycle
	for _, t := range threads {
		for _, v := range t.regs {
			mark(v.ref)
		}
		for _, v := range t.stack {
			mark(v.ref)
		}
	}
	for _, t := range threads {
		kept := t.heap[:0]
		for _, o := range t.heap {
			if o.marked {
				o.marked = false
				kept = append(kept, o)
				c.live++
			} else {
				c.freed++
			}
		}
		clear(t.heap[len(kept):])
		t.heap = kept
	}
	return c
}

func mark(o *object) {
	for ; o != nil && !o.marked; o = o.tail {
		o.marked = true
	}
}
