package threadstate

import (
	"fmt"
	"strconv"
)

// Word is a thread's packed state, the value a Cell holds and compares and
// swaps as a whole:
//
//	bits 0-6    State
//	bit  7      no-safepoints flag
//	bits 8-15   suspend count, unsigned, 0..255
//	bits 16-31  always zero
//
// The layout is Mono's, so a raw word printed in hex reads the same as in
// Mono's dumps (0x185 is AsyncSuspendRequested, count 1, no-safepoints).
// Unlike Mono's signed 8-bit bitfield, the count is stored unsigned, so the
// full range up to MaxCount is usable; Mono's C code would read counts of
// 128 and more back as negative.
//
// The zero Word is Starting with count 0: a new thread's word.
type Word uint32

const (
	stateMask        = 0x7f
	noSafepointsBit  = 0x80
	countShift       = 8
	countMask        = 0xff << countShift
	reservedBitsMask = 0xffff0000

	// MaxCount is the largest suspend count a Word can hold.
	// RequestSuspension refuses to increment a count that has reached it.
	MaxCount = 255
)

// MakeWord packs a state, a suspend count and the no-safepoints flag. It
// panics if s is not a defined state or count is outside [0, MaxCount]:
// such a word cannot be represented.
func MakeWord(s State, count int, noSafepoints bool) Word {
	if !s.Valid() {
		panic(fmt.Sprintf("threadstate.MakeWord: state %d is not one of the %d states", s, NumStates))
	}
	if count < 0 || count > MaxCount {
		panic(fmt.Sprintf("threadstate.MakeWord: suspend count %d outside [0, %d]", count, MaxCount))
	}
	w := Word(s) | Word(count)<<countShift
	if noSafepoints {
		w |= noSafepointsBit
	}
	return w
}

// State returns the state field.
func (w Word) State() State { return State(w & stateMask) }

// Count returns the suspend count: how many suspenders currently hold the
// thread (requests not yet matched by a resume).
func (w Word) Count() int { return int(w&countMask) >> countShift }

// NoSafepoints reports whether the thread is inside a no-safepoints region,
// where it must not poll and must not enter a GC-safe region (Mono's
// mono_thread_info_will_not_safepoint).
func (w Word) NoSafepoints() bool { return w&noSafepointsBit != 0 }

// WellFormed reports whether w has a defined state and zero reserved bits.
// It says nothing about whether the fields agree with each other; CheckWord
// does.
func (w Word) WellFormed() bool {
	return w&reservedBitsMask == 0 && w.State().Valid()
}

// String formats w the way dumps print it: the state's name, the count when
// it is not zero, the no-safepoints flag when set, and the raw value in
// hex, e.g. "RUNNING (0x2)" or
// "ASYNC_SUSPEND_REQUESTED n=1 nosafepoints (0x185)". A word with reserved
// bits set says "malformed".
func (w Word) String() string {
	b, _ := w.AppendText(make([]byte, 0, 48))
	return string(b)
}

// AppendText appends String's text to b (encoding.TextAppender), for
// dumps of many threads that should not allocate a string per word. It
// never fails.
func (w Word) AppendText(b []byte) ([]byte, error) {
	b = append(b, w.State().String()...)
	if n := w.Count(); n != 0 {
		b = append(b, " n="...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if w.NoSafepoints() {
		b = append(b, " nosafepoints"...)
	}
	if w&reservedBitsMask != 0 {
		b = append(b, " malformed"...)
	}
	b = append(b, " (0x"...)
	b = strconv.AppendUint(b, uint64(w), 16)
	return append(b, ')'), nil
}
