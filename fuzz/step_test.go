package fuzz

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/monospec"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// FuzzStep: the first four bytes are the starting word (any 32-bit value,
// so malformed words are covered too), each following byte an event (the
// values 14 and 15 are undefined events).
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, byte(ts.Attach), byte(ts.RequestSuspension), byte(ts.StatePoll), byte(ts.RequestResume)})
	f.Add([]byte{2, 0, 0, 0, byte(ts.DoBlocking), byte(ts.RequestSuspension), byte(ts.FinishAsyncSuspend),
		byte(ts.RequestPulse), byte(ts.DoneBlocking), byte(ts.RequestResume)})
	f.Add([]byte{0x85, 1, 0, 0, byte(ts.AbortAsyncSuspend), byte(ts.EndNoSafepoints), 15})
	f.Add([]byte{0x0c, 0, 1, 0, byte(ts.Attach)})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		w := ts.Word(binary.LittleEndian.Uint32(data))
		valid := ts.CheckWord(w) == nil
		for _, b := range data[4:] {
			e := ts.Event(b % 16)
			next, r, err := ts.Step(w, e)
			if !w.WellFormed() || !e.Valid() {
				if err == nil {
					t.Fatalf("Step(%v, %v) accepted malformed input", w, e)
				}
				return
			}
			want := monospec.Apply(w.State(), w.Count(), w.NoSafepoints(), e)
			if want.Fatal {
				var te *ts.TransitionError
				if !errors.As(err, &te) || next != w || te.Word != w || te.Event != e {
					t.Fatalf("Step(%v, %v) = %v, %v, %v; the reference refuses it", w, e, next, r, err)
				}
				continue // the word is unchanged; go on from it
			}
			if err != nil || uint32(next) != want.Word() || r != want.Result {
				t.Fatalf("Step(%v, %v) = %v, %v, %v; the reference says %v, %v",
					w, e, next, r, err, ts.Word(want.Word()), want.Result)
			}
			if valid {
				if err := ts.CheckWord(next); err != nil {
					t.Fatalf("Step(%v, %v) left a valid word for an invalid one: %v", w, e, err)
				}
			}
			w = next
		}
	})
}
