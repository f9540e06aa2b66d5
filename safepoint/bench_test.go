package safepoint_test

import (
	"context"
	"sync/atomic"
	"testing"

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
