package safepoint_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// The cost of a safepoint in a hot loop, against the two ways Go
// interpreters poll today: an atomic load of a per-thread flag (goja,
// tengo, starlark-go) and a select on ctx.Done() (gopher-lua). Compare in
// one run:
//
//	go test -run '^$' -bench . -count 8 ./safepoint

var sink int

func attached(b *testing.B) (*suspend.Thread, func()) {
	w := suspendtest.NewWorld(b)
	th, err := w.Attach("bench")
	if err != nil {
		b.Fatal(err)
	}
	return th, func() {
		if err := th.Detach(); err != nil {
			b.Error(err)
		}
	}
}

// opsPerLoop is how many polls (flag checks, selects, regions) each
// b.Loop iteration of the benchmarks below runs; their ns/op is per poll
// (testutil.ReportNsPerOp).
const opsPerLoop = 1000

func BenchmarkPoll(b *testing.B) {
	th, done := attached(b)
	defer done()
	b.ReportAllocs()
	for b.Loop() {
		sink = pollLoop(th, opsPerLoop)
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// pollLoop is BenchmarkPoll's loop: n polls, and a sum.
//
//go:noinline
func pollLoop(th *suspend.Thread, n int) int {
	s := 0
	for i := 0; i < n; i++ {
		safepoint.Poll(th)
		s += i
	}
	return s
}

// BenchmarkAtomicFlag is the interpreters' interrupt flag: one atomic load
// of a per-thread word and a branch.
func BenchmarkAtomicFlag(b *testing.B) {
	var flag atomic.Uint32
	b.ReportAllocs()
	for b.Loop() {
		sink = flagLoop(&flag, opsPerLoop)
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// flagLoop is BenchmarkAtomicFlag's loop: n flag checks, and a sum.
//
//go:noinline
func flagLoop(flag *atomic.Uint32, n int) int {
	interrupted := func() { panic("interrupted") }
	s := 0
	for i := 0; i < n; i++ {
		if flag.Load() != 0 {
			interrupted()
		}
		s += i
	}
	return s
}

// BenchmarkPollRatio measures Poll against an atomic flag in alternating
// chunks of one-add loops, so that all see the same machine, and reports
// median ratios over the chunks, and each loop's median time per
// iteration (ns/poll-iter, ns/flag-iter, ns/flag-call-iter), which
// benchstat can compare between runs:
//
//   - x-flag: the flag's cold path leaves the loop (a panic here; an
//     interpreter returns an error), so nothing is live across a call.
//   - x-flag-call: the flag's cold path calls a function and the loop
//     goes on, as Poll's does when it parks.
//
// Each loop is compiled in a function of its own, not inlined, so that
// its code does not depend on what surrounds it; there the compiler saves
// the loop's sum on the cold path only, for the flag's call as for
// Poll's. When the three loops shared the benchmark's function (before
// the move to b.Loop), a cold path that calls and returns could make the
// register allocator spill the sum to the stack on every iteration (one
// store), whoever made the call: the difference between x-flag and
// x-flag-call that docs/benchmarks.md reports. At these costs, code
// layout alone moves a loop's time by up to 2×.
func BenchmarkPollRatio(b *testing.B) {
	th, done := attached(b)
	defer done()
	var flag atomic.Uint32
	const chunk = 1 << 20
	var vsFlag, vsFlagCall, pollNs, flagNs, flagCallNs []float64
	for b.Loop() {
		t0 := time.Now()
		s := pollLoop(th, chunk)
		t1 := time.Now()
		s += leavingFlagLoop(&flag, chunk)
		t2 := time.Now()
		s += callingFlagLoop(&flag, chunk)
		t3 := time.Now()
		sink = s
		p, f, fc := float64(t1.Sub(t0)), float64(t2.Sub(t1)), float64(t3.Sub(t2))
		pollNs, flagNs, flagCallNs = append(pollNs, p/chunk), append(flagNs, f/chunk), append(flagCallNs, fc/chunk)
		vsFlag = append(vsFlag, p/f)
		vsFlagCall = append(vsFlagCall, p/fc)
	}
	b.ReportMetric(testutil.Median(vsFlag), "x-flag")
	b.ReportMetric(testutil.Median(vsFlagCall), "x-flag-call")
	b.ReportMetric(testutil.Median(pollNs), "ns/poll-iter")
	b.ReportMetric(testutil.Median(flagNs), "ns/flag-iter")
	b.ReportMetric(testutil.Median(flagCallNs), "ns/flag-call-iter")
}

// leavingFlagLoop is n flag checks whose cold path leaves the loop.
//
//go:noinline
func leavingFlagLoop(flag *atomic.Uint32, n int) int {
	s := 0
	for j := 0; j < n; j++ {
		if flag.Load() != 0 {
			panic("interrupted")
		}
		s += j
	}
	return s
}

// callingFlagLoop is n flag checks whose cold path calls a function and
// goes on.
//
//go:noinline
func callingFlagLoop(flag *atomic.Uint32, n int) int {
	s := 0
	for j := 0; j < n; j++ {
		if flag.Load() != 0 {
			interrupted()
		}
		s += j
	}
	return s
}

// interrupted is a flag's cold path that returns.
//
//go:noinline
func interrupted() { sink++ }

// BenchmarkCtxDone is a non-blocking select on ctx.Done().
func BenchmarkCtxDone(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		sink = ctxDoneLoop(ctx, opsPerLoop)
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// ctxDoneLoop is BenchmarkCtxDone's loop: n selects, and a sum.
//
//go:noinline
func ctxDoneLoop(ctx context.Context, n int) int {
	s := 0
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
			panic("cancelled")
		default:
		}
		s += i
	}
	return s
}

// BenchmarkBlockingRegion is an empty EnterSafe/ExitSafe pair: the cost
// of declaring a blocking call.
func BenchmarkBlockingRegion(b *testing.B) {
	th, done := attached(b)
	defer done()
	b.ReportAllocs()
	for b.Loop() {
		regionLoop(th, opsPerLoop)
	}
	testutil.ReportNsPerOp(b, opsPerLoop)
}

// regionLoop is BenchmarkBlockingRegion's loop: n empty regions.
//
//go:noinline
func regionLoop(th *suspend.Thread, n int) {
	for range n {
		safepoint.EnterSafe(th)
		safepoint.ExitSafe(th)
	}
}
