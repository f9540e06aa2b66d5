package suspend_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// BenchmarkStopRestart stops and restarts a world of n polling goroutines;
// BenchmarkReadMemStats runs Go's own stop-the-world (ReadMemStats stops
// the world to read the heap) with the same n goroutines polling. Compare
// in one run:
//
//	go test -run '^$' -bench 'StopRestart|ReadMemStats' -count 8 ./suspend
func BenchmarkStopRestart(b *testing.B) {
	for _, n := range []int{1, 8, 64, 1024} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			w := newWorld(b, suspend.WithPolicy(suspend.Coop))
			ps := startPollers(b, w, n)
			defer ps.stop()
			ctx := context.Background()
			for b.Loop() {
				s, err := w.Stop(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Restart(); err != nil {
					b.Error(err)
				}
			}
			st := w.Stats()
			b.ReportMetric(float64(st.Pause.P50.Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(st.Pause.P99.Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkReadMemStats reports the wall time of each call (p50-ns,
// p99-ns: the stop, the read, and getting the caller back on a P, as
// BenchmarkStopRestart's pause includes its own) and Go's own measure of
// the stop-the-world pause (stw-p50-ns, from runtime/metrics).
func BenchmarkReadMemStats(b *testing.B) {
	for _, n := range []int{1, 8, 64, 1024} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			w := newWorld(b, suspend.WithPolicy(suspend.Coop))
			ps := startPollers(b, w, n)
			defer ps.stop()
			var m runtime.MemStats
			samples := make([]time.Duration, 0, 1024)
			before := stwPauses()
			for b.Loop() {
				start := time.Now()
				runtime.ReadMemStats(&m)
				samples = append(samples, time.Since(start))
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(samples[(len(samples)-1)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(medianSince(before, stwPauses()), "stw-p50-ns")
		})
	}
}

const pauseMetric = "/sched/pauses/total/other:seconds"

func stwPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: pauseMetric}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// medianSince returns the median, in nanoseconds, of the pauses recorded
// between two readings of the histogram (the upper bound of its bucket).
func medianSince(before, after *metrics.Float64Histogram) float64 {
	var total uint64
	for i := range after.Counts {
		total += after.Counts[i] - before.Counts[i]
	}
	var seen uint64
	for i := range after.Counts {
		seen += after.Counts[i] - before.Counts[i]
		if total > 0 && seen*2 >= total {
			return after.Buckets[i+1] * 1e9
		}
	}
	return 0
}

// BenchmarkThreadMemory measures the heap an attached thread costs beside
// its goroutine, per policy: n goroutines wait in a blocking region after
// Attach, against n goroutines that wait the same way unattached. Under
// hybrid and preemptive an attached goroutine is locked to its OS thread;
// the unattached ones are locked too, so that the Go runtime's own cost of
// an OS thread (its m) is on both sides and the difference is this
// library's. "idle" threads went straight into their region, as the idle
// threads of a large runtime do; "parked" ones polled and were parked by
// a stop first, which gave them their resume channel.
//
// Under hybrid and preemptive each thread has a signal record too, which
// the difference does not show: records are reused after Detach and never
// freed, so from the second round on they are already allocated. The
// benchmark measures a record's heap apart (record-bytes) and reports the
// sum, the heap per attached thread (bytes/thread+record).
func BenchmarkThreadMemory(b *testing.B) {
	for _, p := range policies {
		for _, parked := range []bool{false, true} {
			name := p.String() + "/idle"
			if parked {
				name = p.String() + "/parked"
			}
			b.Run(name, func(b *testing.B) {
				n := 4096
				if p != suspend.Coop {
					n = 1024 // one OS thread each
				}
				w := newWorld(b, suspend.WithPolicy(p))
				// The first round allocates the signal handler's
				// records, which are reused after Detach and never
				// freed (docs/benchmarks.md): measure from the second.
				threadHeap(b, w, n, true, parked)
				var perThread float64
				for b.Loop() {
					perThread = float64(int64(threadHeap(b, w, n, true, parked))-
						int64(threadHeap(b, w, n, false, false))) / float64(n)
				}
				b.ReportMetric(perThread, "bytes/thread")
				if p != suspend.Coop {
					rec := recordHeap()
					b.ReportMetric(rec, "record-bytes")
					b.ReportMetric(perThread+rec, "bytes/thread+record")
				}
			})
		}
	}
}

// recordHeap returns the heap one signal record takes (its size class),
// measured over many kept alive at once: the least of three tries, since
// the runtime may allocate meanwhile.
func recordHeap() float64 {
	const n = 4096
	least := ^uint64(0)
	for range 3 {
		keep := make([]*asyncsuspend.Record, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i] = new(asyncsuspend.Record)
		}
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(keep)
		least = min(least, (after.TotalAlloc-before.TotalAlloc)/n)
	}
	return float64(least)
}

// threadHeap returns the heap that n goroutines waiting in w hold, each
// attached or not, and if parked, parked once by a stop before they wait;
// under a signal policy each is locked to its OS thread either way.
func threadHeap(b *testing.B, w *suspend.World, n int, attach, parked bool) uint64 {
	release := make(chan struct{})
	attached := make(chan struct{}, n)
	ready := make(chan struct{}, n)
	done := make(chan struct{}, n)
	var wait atomic.Bool // the goroutines poll until it is cleared
	wait.Store(parked)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			if !attach {
				if w.Policy() != suspend.Coop {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				ready <- struct{}{}
				<-release
				return
			}
			th, err := w.Attach("m")
			attached <- struct{}{}
			if err != nil {
				b.Error(err)
				ready <- struct{}{}
				return
			}
			for wait.Load() {
				safepoint.Poll(th)
				runtime.Gosched()
			}
			safepoint.Blocking(th, func() { ready <- struct{}{}; <-release })
			if err := th.Detach(); err != nil {
				b.Error(err)
			}
		}()
	}
	if parked {
		for i := 0; i < n; i++ {
			<-attached
		}
		s, err := w.Stop(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st := w.Stats(); len(st.Slowest) == 0 || st.Slowest[len(st.Slowest)-1].Thread == "" {
			b.Fatalf("the stop found no thread running, so none parked: %+v", st.Slowest)
		}
		if err := s.Restart(); err != nil {
			b.Fatal(err)
		}
		wait.Store(false)
	}
	for i := 0; i < n; i++ {
		<-ready
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	close(release)
	for i := 0; i < n; i++ {
		<-done
	}
	return after.HeapAlloc - before.HeapAlloc
}
