// Package testutil holds the helpers that the module's tests, and the
// contrib modules' tests, would otherwise each copy: the median of a
// benchmark's samples, ns/op for a benchmark that runs its operations in
// chunks, what a function panicked with, and a fresh attached goroutine
// to run a test's thread-side calls on.
//
// It imports suspend, so only external test packages (package x_test)
// can use it; package suspend's own internal tests cannot.
package testutil

import (
	"cmp"
	"slices"
	"testing"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// Median returns the middle element of xs in sorted order (the upper of
// the two middle ones when len(xs) is even), leaving xs as it was. It
// panics when xs is empty.
func Median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// Catch runs fn and returns what it panicked with, or nil if it returned.
func Catch(fn func()) (p any) {
	defer func() { p = recover() }()
	fn()
	return nil
}

// OnThread attaches a fresh goroutine to w as name, runs fn on it with
// the thread, detaches the thread when fn returns, and waits for all of
// it. A failed Attach or Detach is reported with t.Error. fn must leave
// the thread attached; to test Detach itself, use OnThreadNoDetach.
func OnThread(t testing.TB, w *suspend.World, name string, fn func(th *suspend.Thread)) {
	t.Helper()
	onThread(t, w, name, true, fn)
}

// OnThreadNoDetach is OnThread without the Detach: fn owns the thread and
// detaches it itself (or, to test the world's handling of it, lets the
// goroutine end attached).
func OnThreadNoDetach(t testing.TB, w *suspend.World, name string, fn func(th *suspend.Thread)) {
	t.Helper()
	onThread(t, w, name, false, fn)
}

func onThread(t testing.TB, w *suspend.World, name string, detach bool, fn func(th *suspend.Thread)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach(name)
		if err != nil {
			t.Error(err)
			return
		}
		fn(th)
		if !detach {
			return
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	<-done
}

// ReportNsPerOp replaces a benchmark's ns/op with the time per operation
// when each of its b.Loop iterations ran ops operations; call it after
// the loop. Benchmarks of operations that take a few nanoseconds run
// them in chunks so: b.Loop's own cost per iteration (its counter is kept
// in memory, and the compiler keeps alive what the loop's body assigns)
// is about a nanosecond, which would blur them. B/op and allocs/op stay
// per iteration.
func ReportNsPerOp(b *testing.B, ops int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(ops), "ns/op")
}
