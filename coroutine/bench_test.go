package coroutine_test

import (
	"context"
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/monitor"
)

// The round-trip benchmarks compare, in one run:
//
//	go test -run '^$' -bench 'RoundTrip|CreateComplete|SuspendedMemory|Preemption' -count 6 ./coroutine
//
// a Resume+Yield round trip, a raw iter.Pull next() round trip (the floor:
// two coroutine switches), and a ping-pong over unbuffered channels.

func BenchmarkRoundTripCoroutine(b *testing.B) {
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		for {
			p = s.Yield(p + 1)
		}
	})
	defer func() {
		if err := c.Close(); err != nil {
			b.Error(err)
		}
	}()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if st, _ := c.Resume(i); st.Yield != i+1 {
			b.Fatal(st)
		}
		i++
	}
}

func BenchmarkRoundTripIterPull(b *testing.B) {
	var in int
	next, stop := pullCounter(&in)
	defer stop()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in = i
		if v, _ := next(); v != i+1 {
			b.Fatal(v)
		}
		i++
	}
}

// BenchmarkRoundTripRatio measures the coroutine's round trip against
// iter.Pull's in alternating chunks, so that both see the same machine
// (a shared machine is noisy), and reports the median ratio over the
// chunks ("x-iter.Pull"): the round trip's target is at most 1.2. It also
// reports, from the same chunks, the floor of any Resume with this
// signature that is not inlined ("x-floor"): iter.Pull with next() called
// through one function that is not, and that returns an Outcome and an error
// as Resume does (stateThrough; see BenchmarkRoundTripDepth). Beside the
// ratios it reports the median time of each kind of trip
// (ns/coroutine-trip, ns/pull-trip, ns/floor-trip), which benchstat can
// compare between runs.
func BenchmarkRoundTripRatio(b *testing.B) {
	const chunk = 2000
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		for {
			p = s.Yield(p + 1)
		}
	})
	defer func() {
		if err := c.Close(); err != nil {
			b.Error(err)
		}
	}()
	var in int
	next, stop := pullCounter(&in)
	defer stop()
	var in1 int
	next1, stop1 := pullCounter(&in1)
	defer stop1()
	var ratios, floors, coNs, pullNs, floorNs []float64
	for b.Loop() {
		t0 := time.Now()
		for j := 0; j < chunk; j++ {
			if st, _ := c.Resume(j); st.Yield != j+1 {
				b.Fatal(st)
			}
		}
		t1 := time.Now()
		for j := 0; j < chunk; j++ {
			in = j
			if v, _ := next(); v != j+1 {
				b.Fatal(v)
			}
		}
		t2 := time.Now()
		for j := 0; j < chunk; j++ {
			in1 = j
			if st, _ := stateThrough(next1); st.Yield != j+1 {
				b.Fatal(st)
			}
		}
		t3 := time.Now()
		co, pull, floor := float64(t1.Sub(t0))/chunk, float64(t2.Sub(t1))/chunk, float64(t3.Sub(t2))/chunk
		coNs, pullNs, floorNs = append(coNs, co), append(pullNs, pull), append(floorNs, floor)
		ratios, floors = append(ratios, co/pull), append(floors, floor/pull)
	}
	b.ReportMetric(testutil.Median(ratios), "x-iter.Pull")
	b.ReportMetric(testutil.Median(floors), "x-floor")
	b.ReportMetric(testutil.Median(coNs), "ns/coroutine-trip")
	b.ReportMetric(testutil.Median(pullNs), "ns/pull-trip")
	b.ReportMetric(testutil.Median(floorNs), "ns/floor-trip")
}

// BenchmarkRoundTripDepth measures what one call between the caller and
// the switch costs: a raw iter.Pull round trip against the same with
// next() called through one function that is not inlined (what any
// Resume too big to inline adds), and through one such function on each
// side (the body calls yield through one too). Chunks alternate as in
// BenchmarkRoundTripRatio. Each switch comes back through returns that
// the CPU's return-address predictor, filled by the other goroutine's
// calls, mispredicts; every extra frame is one more of them. The
// one-level ratio is the floor of a Resume that is not inlined. Beside the
// ratios it reports the median time of each kind of trip (ns/pull-trip,
// ns/one-level-trip and so on).
func BenchmarkRoundTripDepth(b *testing.B) {
	const chunk = 2000
	var in int
	next, stop := pullCounter(&in)
	defer stop()
	var in1 int
	next1, stop1 := pullCounter(&in1)
	defer stop1()
	var in2 int
	next2, stop2 := iter.Pull(func(yield func(int) bool) {
		for yieldThrough(yield, in2+1) {
		}
	})
	defer stop2()
	var in3 int
	next3, stop3 := pullCounter(&in3)
	defer stop3()
	var one, two, state, pullNs, oneNs, twoNs, stateNs []float64
	for b.Loop() {
		t0 := time.Now()
		for j := 0; j < chunk; j++ {
			in = j
			if v, _ := next(); v != j+1 {
				b.Fatal(v)
			}
		}
		t1 := time.Now()
		for j := 0; j < chunk; j++ {
			in1 = j
			if v, _ := nextThrough(next1); v != j+1 {
				b.Fatal(v)
			}
		}
		t2 := time.Now()
		for j := 0; j < chunk; j++ {
			in2 = j
			if v, _ := nextThrough(next2); v != j+1 {
				b.Fatal(v)
			}
		}
		t3 := time.Now()
		for j := 0; j < chunk; j++ {
			in3 = j
			if st, _ := stateThrough(next3); st.Yield != j+1 {
				b.Fatal(st)
			}
		}
		t4 := time.Now()
		pull, o, t, st := float64(t1.Sub(t0)), float64(t2.Sub(t1)), float64(t3.Sub(t2)), float64(t4.Sub(t3))
		one, two, state = append(one, o/pull), append(two, t/pull), append(state, st/pull)
		pullNs, oneNs = append(pullNs, pull/chunk), append(oneNs, o/chunk)
		twoNs, stateNs = append(twoNs, t/chunk), append(stateNs, st/chunk)
	}
	b.ReportMetric(testutil.Median(one), "x-one-level")
	b.ReportMetric(testutil.Median(two), "x-two-levels")
	b.ReportMetric(testutil.Median(state), "x-one-level-state")
	b.ReportMetric(testutil.Median(pullNs), "ns/pull-trip")
	b.ReportMetric(testutil.Median(oneNs), "ns/one-level-trip")
	b.ReportMetric(testutil.Median(twoNs), "ns/two-levels-trip")
	b.ReportMetric(testutil.Median(stateNs), "ns/one-level-state-trip")
}

//go:noinline
func nextThrough(next func() (int, bool)) (int, bool) { return next() }

// stateThrough is nextThrough returning what Resume returns: an Outcome (64
// bytes, on the stack) and an error.
//
//go:noinline
func stateThrough(next func() (int, bool)) (coroutine.Outcome[int, int], error) {
	v, _ := next()
	return coroutine.Outcome[int, int]{Status: coroutine.Suspended, Yield: v}, nil
}

//go:noinline
func yieldThrough(yield func(int) bool, v int) bool { return yield(v) }

func BenchmarkRoundTripChannels(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for p := range ping {
			pong <- p + 1
		}
	}()
	defer close(ping)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ping <- i
		if v := <-pong; v != i+1 {
			b.Fatal(v)
		}
		i++
	}
}

// BenchmarkCreateComplete creates a coroutine, runs it to completion and
// frees it.
func BenchmarkCreateComplete(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int { return p })
		if st, _ := c.Resume(i); st.Result != i {
			b.Fatal(st)
		}
		i++
	}
}

// BenchmarkSuspendedMemory reports the memory a suspended coroutine holds
// (its goroutine's stack and the records), over 10,000 of them.
func BenchmarkSuspendedMemory(b *testing.B) {
	const n = 10000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cs := make([]*coroutine.Coroutine[int, int, int], n)
		for j := range cs {
			cs[j] = coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
				for {
					p = s.Yield(p)
				}
			})
			if _, err := cs[j].Resume(j); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc+after.StackInuse-before.HeapAlloc-before.StackInuse)/n, "bytes/coroutine")
		for _, c := range cs {
			if err := c.Close(); err != nil {
				b.Error(err)
			}
		}
	}
}

// BenchmarkPreemption measures, over many slices, the time from a slice's
// expiry to Resume returning the preempted coroutine: the monitor's tick
// granularity plus one Poll and one switch.
func BenchmarkPreemption(b *testing.B) {
	const slice = time.Millisecond
	m := monitor.New(monitor.WithSlice(slice), monitor.WithTick(100*time.Microsecond))
	if err := m.Start(); err != nil {
		b.Fatal(err)
	}
	defer m.Stop()
	c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
		for {
			s.Poll()
		}
	}, coroutine.WithMonitor(m))
	defer func() {
		if err := c.Close(); err != nil {
			b.Error(err)
		}
	}()
	var late time.Duration
	for b.Loop() {
		start := time.Now()
		st, err := c.Resume(struct{}{})
		if err != nil || st.Status != coroutine.Suspended {
			b.Fatal(st, err)
		}
		late += time.Since(start) - slice
	}
	b.ReportMetric(float64(late.Microseconds())/float64(b.N), "µs-past-slice")
	_ = context.Background
}

// BenchmarkSchedulerYield is one turn of a scheduled coroutine: Run's
// loop (the context look included), the ready queue, and a yield.
//
// The coroutine runs the b.Loop loop, while the benchmark's goroutine
// waits in Run; b.Loop starts the timer at its first call.
func BenchmarkSchedulerYield(b *testing.B) {
	s := coroutine.NewScheduler()
	s.Submit(func(su *coroutine.Task) any {
		for b.Loop() {
			su.Yield(struct{}{})
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	if err := s.Run(ctx); err != nil {
		b.Fatal(err)
	}
}

// pullCounter is the raw iter.Pull the round-trip benchmarks compare
// with: each next() yields *in + 1.
func pullCounter(in *int) (next func() (int, bool), stop func()) {
	return iter.Pull(func(yield func(int) bool) {
		for yield(*in + 1) {
		}
	})
}
