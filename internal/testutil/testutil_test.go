package testutil_test

import (
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/suspend"
)

func TestMedian(t *testing.T) {
	xs := []float64{3, 1, 2}
	if got := testutil.Median(xs); got != 2 {
		t.Errorf("Median(%v) = %v, want 2", xs, got)
	}
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("Median reordered its argument: %v", xs)
	}
	if got := testutil.Median([]int64{4, 1, 3, 2}); got != 3 {
		t.Errorf("Median of an even count = %v, want the upper middle, 3", got)
	}
	if got := testutil.Median([]time.Duration{time.Second}); got != time.Second {
		t.Errorf("Median of one = %v", got)
	}
	if p := testutil.Catch(func() { testutil.Median([]int{}) }); p == nil {
		t.Error("Median of nothing returned")
	}
}

func TestCatch(t *testing.T) {
	if p := testutil.Catch(func() {}); p != nil {
		t.Errorf("Catch of a function that returned: %v", p)
	}
	if p := testutil.Catch(func() { panic("boom") }); p != "boom" {
		t.Errorf("Catch = %v, want boom", p)
	}
	err := errors.New("an error")
	if p := testutil.Catch(func() { panic(err) }); p != err {
		t.Errorf("Catch = %v, want the error panicked with", p)
	}
}

// recorder is a testing.TB that records the errors reported to it.
// onThread's goroutine reports them, and OnThread returns only after it
// has ended, so they need no lock.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }

func newWorld(t *testing.T) *suspend.World {
	t.Helper()
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w
}

// TestOnThread: fn runs on an attached goroutine of its own, under the
// name given, and the thread is detached when OnThread returns; a thread
// that fn detached itself is reported (the caller wanted
// OnThreadNoDetach).
func TestOnThread(t *testing.T) {
	w := newWorld(t)
	var got *suspend.Thread
	testutil.OnThread(t, w, "helper", func(th *suspend.Thread) {
		got = th
		if !th.Attached() || th.Name() != "helper" || th.World() != w {
			t.Errorf("fn got %q attached=%v", th.Name(), th.Attached())
		}
	})
	if got == nil || got.Attached() {
		t.Fatalf("after OnThread the thread is %v, want detached", got)
	}

	r := &recorder{TB: t}
	testutil.OnThread(r, w, "detaches", func(th *suspend.Thread) {
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	})
	if len(r.errs) != 1 {
		t.Errorf("OnThread of a thread fn detached reported %q, want its second Detach's error", r.errs)
	}
}

// TestOnThreadNoDetach: the thread is left to fn, which may detach it
// without an error.
func TestOnThreadNoDetach(t *testing.T) {
	w := newWorld(t)
	r := &recorder{TB: t}
	var attachedAfterFn bool
	testutil.OnThreadNoDetach(r, w, "owner", func(th *suspend.Thread) {
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
		attachedAfterFn = th.Attached()
	})
	if len(r.errs) != 0 || attachedAfterFn {
		t.Errorf("OnThreadNoDetach of a thread fn detached: errors %q, attached %v", r.errs, attachedAfterFn)
	}

	// A failed Attach is reported, and fn does not run.
	r2 := &recorder{TB: t}
	closed, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	testutil.OnThreadNoDetach(r2, closed, "refused", func(*suspend.Thread) { ran = true })
	if ran || len(r2.errs) != 1 {
		t.Errorf("OnThreadNoDetach on a closed world: fn ran %v, errors %q", ran, r2.errs)
	}
}

// TestReportNsPerOp: ns/op becomes the time of one of the chunk's
// operations.
func TestReportNsPerOp(t *testing.T) {
	f := flag.Lookup("test.benchtime")
	old := f.Value.String()
	if err := f.Value.Set("3x"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Value.Set(old); err != nil {
			t.Error(err)
		}
	}()
	const ops = 1000
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			time.Sleep(ops * time.Nanosecond)
		}
		testutil.ReportNsPerOp(b, ops)
	})
	want := float64(r.T.Nanoseconds()) / float64(r.N) / ops
	if got := r.Extra["ns/op"]; r.N != 3 || got != want || got <= 0 {
		t.Errorf("%d iterations in %v: ns/op %v, want %v", r.N, r.T, got, want)
	}
}
