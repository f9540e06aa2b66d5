package suspend_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// idlers is a set of attached goroutines that wait inside a blocking
// region: the threads of a runtime that wait for I/O or a message, the
// common case in a runtime with many threads. A stop costs each of them
// one compare-and-swap to request and one to resume.
type idlers struct {
	release chan struct{}
	wg      sync.WaitGroup
}

func startIdlers(tb testing.TB, w *suspend.World, n int) *idlers {
	tb.Helper()
	id := &idlers{release: make(chan struct{})}
	ready := make(chan error, 64)
	for i := 0; i < n; i++ {
		id.wg.Add(1)
		go func() {
			defer id.wg.Done()
			th, err := w.Attach(fmt.Sprintf("idle-%d", i))
			if err != nil {
				ready <- err
				return
			}
			safepoint.Blocking(th, func() {
				ready <- nil
				<-id.release
			})
			if err := th.Detach(); err != nil {
				tb.Error(err)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-ready; err != nil {
			tb.Fatal(err)
		}
	}
	return id
}

func (id *idlers) stop() {
	close(id.release)
	id.wg.Wait()
}

// BenchmarkStopScaling stops and restarts a coop world whose threads are
// mostly idle in blocking regions (plus 8 polling ones), or all polling,
// and reports the pause's median and 90th percentile, the median per
// thread, and the bytes allocated per stop (which must not grow with the
// thread count). docs/benchmarks.md has the table:
//
//	go test -run '^$' -bench StopScaling -benchtime 200x ./suspend
func BenchmarkStopScaling(b *testing.B) {
	cases := []struct {
		idle, polling int
	}{
		{0, 1}, {0, 8}, {0, 64}, {1000, 8}, {10000, 0}, {10000, 8}, {50000, 0}, {50000, 8},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("idle=%d/polling=%d", c.idle, c.polling), func(b *testing.B) {
			w := newWorld(b, suspend.WithPolicy(suspend.Coop))
			id := startIdlers(b, w, c.idle)
			defer id.stop()
			ps := startPollers(b, w, c.polling)
			defer ps.stop()
			ctx := context.Background()
			// Warm up: the first stops size the reused buffers; then
			// collect the setup's garbage, so that a collection started
			// by the setup does not run during the measured stops.
			for range 3 {
				if err := stopWorld(b, w).Restart(); err != nil {
					b.Error(err)
				}
			}
			runtime.GC()
			pauses := make([]time.Duration, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				s, err := w.Stop(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Restart(); err != nil {
					b.Fatal(err)
				}
				pause := time.Since(start)
				if len(pauses) == cap(pauses) {
					// Grow outside the timer, so that B/op and
					// allocs/op are the stop's alone.
					b.StopTimer()
					pauses = slices.Grow(pauses, len(pauses))
					b.StartTimer()
				}
				pauses = append(pauses, pause)
			}
			slices.Sort(pauses)
			p50, p90 := pauses[len(pauses)/2], pauses[len(pauses)*9/10]
			n := c.idle + c.polling
			b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(p90.Nanoseconds()), "p90-ns")
			b.ReportMetric(float64(p50.Nanoseconds())/float64(n), "p50-ns/thread")
		})
	}
}

// scales are the thread counts the registry benchmarks run at: a cost
// per operation that grows with them is a bug (issue: O(N) copying).
var scales = []int{0, 1000, 10000, 50000}

// idleWorld returns a coop world with n idle threads, which stay until
// the benchmark ends, with the setup's garbage collected and allocations
// reported.
func idleWorld(b *testing.B, n int) *suspend.World {
	w := newWorld(b, suspend.WithPolicy(suspend.Coop))
	b.Cleanup(startIdlers(b, w, n).stop) // before the world's own cleanup
	runtime.GC()
	b.ReportAllocs()
	return w
}

// BenchmarkAttachDetachScaling attaches and detaches one goroutine in a
// coop world that already has n idle threads: both are a registry insert
// or remove under the suspend lock, and must cost the same at every n.
func BenchmarkAttachDetachScaling(b *testing.B) {
	for _, n := range scales {
		b.Run(fmt.Sprintf("threads=%d", n), func(b *testing.B) {
			w := idleWorld(b, n)
			for b.Loop() {
				th, err := w.Attach("churn")
				if err != nil {
					b.Fatal(err)
				}
				if err := th.Detach(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDumpScaling writes the dump of a coop world with n idle
// threads (the message of a timed-out stop): linear in n, and it
// reports the cost and the bytes allocated per thread.
func BenchmarkDumpScaling(b *testing.B) {
	for _, n := range scales[1:] {
		b.Run(fmt.Sprintf("threads=%d", n), func(b *testing.B) {
			w := idleWorld(b, n)
			for b.Loop() {
				if err := w.Dump(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perOp/float64(n), "ns/thread")
		})
	}
}

// BenchmarkStatsScaling reads World.Stats of a coop world with n idle
// threads that has been stopped a few thousand times: the statistics
// keep a window of the last stops, not one entry per thread or per stop,
// so the read costs the same at every n.
func BenchmarkStatsScaling(b *testing.B) {
	for _, n := range scales {
		b.Run(fmt.Sprintf("threads=%d", n), func(b *testing.B) {
			w := idleWorld(b, n)
			stops := 5000
			if n > 1000 {
				stops = 200 // enough to fill part of the window, in seconds
			}
			for range stops {
				if err := stopWorld(b, w).Restart(); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() { // b.Loop starts the timer afresh
				if st := w.Stats(); st.Stops < int64(stops) {
					b.Fatalf("Stats: %d stops, want at least %d", st.Stops, stops)
				}
			}
		})
	}
}
