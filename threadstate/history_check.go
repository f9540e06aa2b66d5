//go:build coopcheck

package threadstate

import "sync/atomic"

// Checked reports whether the library was built with the coopcheck tag,
// which makes every Cell keep a ring of its last transitions (Mono's checked
// build).
const Checked = true

// historyLen is how many transitions a Cell remembers.
const historyLen = 16

// history is a lock-free ring of the last transitions of one Cell. Any
// actor may record; each slot is one atomic 64-bit value packing
//
//	bits  0-15  word before (bits 16-31 of a word are always zero)
//	bits 16-31  word after
//	bits 32-39  event
//	bits 40-47  result
//	bits 48-63  sequence number + 1, modulo 2^16 (0 marks an empty slot)
//
// so a reader never sees half a record. The sequence number orders the
// records and tells the ones overwritten since from the current ones.
type history struct {
	next  atomic.Uint32
	slots [historyLen]atomic.Uint64
}

func (h *history) record(e Event, r Result, before, after Word) {
	seq := h.next.Add(1) - 1
	h.slots[seq%historyLen].Store(uint64(before&0xffff) | uint64(after&0xffff)<<16 |
		uint64(e)<<32 | uint64(r)<<40 | uint64(uint16(seq+1))<<48)
}

func (h *history) snapshot() []Transition {
	next := h.next.Load()
	var out []Transition
	// Walk from the oldest sequence number still in the ring to the
	// newest; a slot whose tag does not match was overwritten by a
	// newer record, or not yet written by a concurrent one.
	first := uint32(0)
	if next > historyLen {
		first = next - historyLen
	}
	for seq := first; seq != next; seq++ {
		v := h.slots[seq%historyLen].Load()
		if uint16(v>>48) != uint16(seq+1) {
			continue
		}
		e := Event(v >> 32)
		out = append(out, Transition{
			Actor:  e.Actor(),
			Event:  e,
			Before: Word(v & 0xffff),
			After:  Word(v >> 16 & 0xffff),
			Result: Result(v >> 40),
		})
	}
	return out
}
