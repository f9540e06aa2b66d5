package threadstate_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// Benchmarks of the state machine. Compare in one run:
//
//	go test -run '^$' -bench . ./threadstate
//	go test -run '^$' -bench . -tags coopcheck ./threadstate
//
// BenchmarkCASBaseline is the floor: a bare compare-and-swap loop that
// toggles a word between the same two values as BenchmarkCellApply, with
// no table. The difference is what Step costs inside Apply.
//
// BenchmarkStepCASLoop is Apply written out without a Cell: load, Step,
// compare-and-swap, and no history. In a normal build Apply costs the same
// (checked mode adds nothing); with -tags coopcheck the difference is the
// cost of the history ring.

var sink ts.Word

// opsPerLoop is how many operations each b.Loop iteration of these
// benchmarks runs, in a loop compiled in a function of its own
// (go:noinline), as it was compiled in the benchmark's before: b.Loop's
// own cost per iteration, about a nanosecond, would blur operations of a
// few. ns/op is per operation (testutil.ReportNsPerOp).
const opsPerLoop = 1000

// stepPair is a word and the event BenchmarkStep applies to it.
type stepPair struct {
	w ts.Word
	e ts.Event
}

// BenchmarkStep runs Step over the transitions of one stop/restart cycle,
// a mix of every kind of cell (two-arm cells, checks, no-change cells).
func BenchmarkStep(b *testing.B) {
	var pairs []stepPair
	var c ts.Cell
	for _, e := range []ts.Event{ts.Attach, ts.StatePoll, ts.DoBlocking, ts.RequestSuspension,
		ts.PeekBlockingSuspendRequested, ts.FinishAsyncSuspend, ts.RequestPulse, ts.DoneBlocking,
		ts.RequestResume, ts.RequestSuspension, ts.StatePoll, ts.RequestResume, ts.AbortBlocking} {
		pairs = append(pairs, stepPair{c.Load(), e})
		mustApply(b, &c, e)
	}
	b.ReportAllocs()
	for b.Loop() {
		stepLoop(pairs, opsPerLoop)
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// stepLoop is BenchmarkStep's loop: n Steps, over pairs in turn.
//
//go:noinline
func stepLoop(pairs []stepPair, n int) {
	for i := 0; i < n; i++ {
		p := pairs[i%len(pairs)]
		w, _, _ := ts.Step(p.w, p.e)
		sink = w
	}
}

// BenchmarkCellApply is one uncontended Apply that publishes a new word
// (alternately DoBlocking and DoneBlocking): a load, Step and a CAS.
func BenchmarkCellApply(b *testing.B) {
	var c ts.Cell
	mustApply(b, &c, ts.Attach)
	b.ReportAllocs()
	for b.Loop() {
		if err := applyLoop(&c, opsPerLoop); err != nil {
			b.Fatal(err)
		}
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// applyLoop is BenchmarkCellApply's loop: n Applies (n even), alternately
// DoBlocking and DoneBlocking.
//
//go:noinline
func applyLoop(c *ts.Cell, n int) error {
	for i := 0; i < n; i += 2 {
		_, err1 := c.Apply(ts.DoBlocking)
		_, err2 := c.Apply(ts.DoneBlocking)
		if err1 != nil || err2 != nil {
			return errors.Join(err1, err2)
		}
	}
	return nil
}

// BenchmarkCellApplyNoChange is an Apply whose transition changes nothing
// (AbortBlocking while Running), so no CAS is issued.
func BenchmarkCellApplyNoChange(b *testing.B) {
	var c ts.Cell
	mustApply(b, &c, ts.Attach)
	b.ReportAllocs()
	for b.Loop() {
		if err := noChangeLoop(&c, opsPerLoop); err != nil {
			b.Fatal(err)
		}
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// noChangeLoop is BenchmarkCellApplyNoChange's loop: n AbortBlockings.
//
//go:noinline
func noChangeLoop(c *ts.Cell, n int) error {
	for i := 0; i < n; i++ {
		if _, err := c.Apply(ts.AbortBlocking); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkCASBaseline toggles a word between Running and Blocking with a
// bare load-and-CAS loop: what Apply would cost with a free Step.
func BenchmarkCASBaseline(b *testing.B) {
	var w atomic.Uint32
	w.Store(uint32(ts.MakeWord(ts.Running, 0, false)))
	b.ReportAllocs()
	for b.Loop() {
		casLoop(&w, opsPerLoop)
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// casLoop is BenchmarkCASBaseline's loop: n toggles (n even), from
// Running to Blocking and back.
//
//go:noinline
func casLoop(w *atomic.Uint32, n int) {
	running, blocking := uint32(ts.MakeWord(ts.Running, 0, false)), uint32(ts.MakeWord(ts.Blocking, 0, false))
	toggle := func(from, to uint32) {
		for { // loopcheck:ok a compare-and-swap retry on a word only this goroutine writes
			old := w.Load()
			if old != from {
				panic("unexpected word")
			}
			if w.CompareAndSwap(old, to) {
				return
			}
		}
	}
	for i := 0; i < n; i += 2 {
		toggle(running, blocking)
		toggle(blocking, running)
	}
}

// BenchmarkStepCASLoop is Cell.Apply's loop without the Cell: what Apply
// costs when nothing is recorded. stepCASLoop is kept out of line, like
// Apply's own loop, so that the two differ only in the history.
func BenchmarkStepCASLoop(b *testing.B) {
	var w atomic.Uint32
	w.Store(uint32(ts.MakeWord(ts.Running, 0, false)))
	b.ReportAllocs()
	for b.Loop() {
		if err := stepCASLoopLoop(&w, opsPerLoop); err != nil {
			b.Fatal(err)
		}
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// stepCASLoopLoop is BenchmarkStepCASLoop's loop: n stepCASLoops (n
// even), alternately DoBlocking and DoneBlocking.
//
//go:noinline
func stepCASLoopLoop(w *atomic.Uint32, n int) error {
	for i := 0; i < n; i += 2 {
		_, err1 := stepCASLoop(w, ts.DoBlocking)
		_, err2 := stepCASLoop(w, ts.DoneBlocking)
		if err1 != nil || err2 != nil {
			return errors.Join(err1, err2)
		}
	}
	return nil
}

//go:noinline
func stepCASLoop(w *atomic.Uint32, e ts.Event) (ts.Result, error) {
	for {
		old := ts.Word(w.Load())
		next, r, err := ts.Step(old, e)
		if err != nil {
			return r, err
		}
		if next == old || w.CompareAndSwap(uint32(old), uint32(next)) {
			return r, nil
		}
	}
}
