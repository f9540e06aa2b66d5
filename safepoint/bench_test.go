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

func BenchmarkPoll(b *testing.B) {
	th, done := attached(b)
	defer done()
	b.ReportAllocs()
	s := 0
	for i := 0; i < b.N; i++ {
		safepoint.Poll(th)
		s += i
	}
	sink = s
}

// BenchmarkAtomicFlag is the interpreters' interrupt flag: one atomic load
// of a per-thread word and a branch.
func BenchmarkAtomicFlag(b *testing.B) {
	var flag atomic.Uint32
	interrupted := func() { panic("interrupted") }
	b.ReportAllocs()
	s := 0
	for i := 0; i < b.N; i++ {
		if flag.Load() != 0 {
			interrupted()
		}
		s += i
	}
	sink = s
}

// BenchmarkPollRatio measures Poll against an atomic flag in alternating
// chunks of one-add loops, so that all see the same machine, and reports
// median ratios over the chunks:
//
//   - x-flag: the flag's cold path leaves the loop (a panic here; an
//     interpreter returns an error), so nothing is live across a call.
//   - x-flag-call: the flag's cold path calls a function and the loop
//     goes on, as Poll's does when it parks.
//
// The difference between the two is the compiler's, not Poll's: a cold
// path that calls and returns makes the register allocator spill the
// loop's sum to the stack on every iteration (one store), whoever makes
// the call.
func BenchmarkPollRatio(b *testing.B) {
	th, done := attached(b)
	defer done()
	var flag atomic.Uint32
	const chunk = 1 << 20
	var vsFlag, vsFlagCall, pollNs []float64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s := 0
		for j := 0; j < chunk; j++ {
			safepoint.Poll(th)
			s += j
		}
		t1 := time.Now()
		for j := 0; j < chunk; j++ {
			if flag.Load() != 0 {
				panic("interrupted")
			}
			s += j
		}
		t2 := time.Now()
		for j := 0; j < chunk; j++ {
			if flag.Load() != 0 {
				interrupted()
			}
			s += j
		}
		t3 := time.Now()
		sink = s
		p := float64(t1.Sub(t0))
		pollNs = append(pollNs, p/chunk)
		vsFlag = append(vsFlag, p/float64(t2.Sub(t1)))
		vsFlagCall = append(vsFlagCall, p/float64(t3.Sub(t2)))
	}
	b.ReportMetric(testutil.Median(vsFlag), "x-flag")
	b.ReportMetric(testutil.Median(vsFlagCall), "x-flag-call")
	b.ReportMetric(testutil.Median(pollNs), "ns/poll-iter")
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
	s := 0
	for i := 0; i < b.N; i++ {
		select {
		case <-ctx.Done():
			panic("cancelled")
		default:
		}
		s += i
	}
	sink = s
}

// BenchmarkBlockingRegion is an empty EnterSafe/ExitSafe pair: the cost
// of declaring a blocking call.
func BenchmarkBlockingRegion(b *testing.B) {
	th, done := attached(b)
	defer done()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		safepoint.EnterSafe(th)
		safepoint.ExitSafe(th)
	}
}
