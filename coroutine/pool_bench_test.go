package coroutine_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// What a stop of the world costs with G CPU-bound guests (64 steps between
// polls), as coroutines on 2 runners or as G attached goroutines, with a
// stop every millisecond:
//
//	go test -run '^$' -bench 'StopGuests' -benchtime 200x -count 6 ./coroutine
//
// ns/op is Stop+Restart; p50-ns and p99-ns are their distribution over
// the run's stops.

// guestSteps is the guests' shared work counter.
var guestSteps atomic.Int64

// guestWork is a guest's 64 steps between two polls: a real call, as an
// interpreter's dispatch is.
//
//go:noinline
func guestWork() {
	for range 64 {
		guestSteps.Add(1)
	}
	testenv.Preemptible()
}

func BenchmarkStopGuests(b *testing.B) {
	for _, g := range []int{2, 1024, 4096, 10_000, 100_000} {
		b.Run(fmt.Sprintf("pool/G=%d", g), func(b *testing.B) { benchStopPool(b, g) })
		if g <= 4096 {
			b.Run(fmt.Sprintf("goroutines/G=%d", g), func(b *testing.B) { benchStopGoroutines(b, g) })
		}
	}
}

// benchStopPool stops a world whose g guests are coroutines of a
// scheduler on 2 runners, time-sliced every millisecond.
func benchStopPool(b *testing.B, g int) {
	// A minute's stop timeout: a loaded machine can keep guests off the
	// CPU for seconds, and a benchmark measures rather than fails.
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(time.Millisecond/2))
	defer m.Stop()
	s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithMonitor(m), coroutine.WithRunners(2))
	var quit atomic.Bool
	defer quit.Store(true) // the guests end, also when the benchmark fails
	for range g {
		s.Submit(func(su *sched) any {
			for !quit.Load() {
				guestWork()
				su.Poll()
			}
			return nil
		})
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	// Every guest has run once before the clock starts.
	for start := guestSteps.Load(); guestSteps.Load()-start < int64(64*g); {
		time.Sleep(time.Millisecond)
	}
	benchStops(b, w)
	quit.Store(true)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchStopGoroutines stops a world whose g guests are attached
// goroutines.
func benchStopGoroutines(b *testing.B, g int) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	var quit atomic.Bool
	defer quit.Store(true) // the guests end, also when the benchmark fails
	var wg, attached sync.WaitGroup
	start := make(chan struct{})
	for range g {
		wg.Add(1)
		attached.Add(1)
		go func() {
			defer wg.Done()
			th, err := w.Attach("guest")
			attached.Done()
			if err != nil {
				b.Error(err)
				return
			}
			// Attach takes the suspend lock: the guests start spinning
			// only once all have attached, or the last ones wait for
			// the lock behind whole time slices of the others.
			safepoint.Blocking(th, func() { <-start })
			for !quit.Load() {
				guestWork()
				safepoint.Poll(th)
			}
			if err := th.Detach(); err != nil {
				b.Error(err)
			}
		}()
	}
	attached.Wait()
	close(start)
	for from := guestSteps.Load(); guestSteps.Load()-from < int64(64*g); {
		time.Sleep(time.Millisecond)
	}
	benchStops(b, w)
	quit.Store(true)
	wg.Wait()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchStops stops and restarts w once per b.Loop iteration, a
// millisecond apart, and reports the distribution of Stop+Restart.
func benchStops(b *testing.B, w *suspend.World) {
	took := make([]time.Duration, 0, 1024)
	for b.Loop() {
		b.StopTimer()
		time.Sleep(time.Millisecond)
		b.StartTimer()
		start := time.Now()
		st, err := w.Stop(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Restart(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
}

// The throughput of CPU-bound coroutines on R runners, and how fairly
// they share them:
//
//	go test -run '^$' -bench 'PoolThroughput|PoolFairness' -count 6 ./coroutine
//
// PoolThroughput: 1,000 coroutines each do 64 chunks of privateWork,
// yielding between chunks; ns/chunk is per chunk. On 2 CPUs, R=2 should
// take about half R=1's time. The monitor variants add a monitor (10 ms
// slices, which these coroutines never reach): what time slicing costs a
// switch (the monitor's Enter and Leave, under its lock, and the clock).
func BenchmarkPoolThroughput(b *testing.B) {
	for _, c := range []struct {
		r       int
		monitor bool
	}{{1, false}, {2, false}, {4, false}, {8, false}, {1, true}, {2, true}} {
		name := fmt.Sprintf("R=%d", c.r)
		if c.monitor {
			name += "/monitor"
		}
		b.Run(name, func(b *testing.B) {
			const coroutines, chunks = 1000, 64
			opts := []coroutine.Option{coroutine.WithRunners(c.r)}
			if c.monitor {
				m := monitor.New(monitor.WithSlice(10*time.Millisecond), monitor.WithTick(time.Millisecond))
				defer m.Stop()
				opts = append(opts, coroutine.WithMonitor(m))
			}
			for b.Loop() {
				s := coroutine.NewScheduler(opts...)
				for i := range coroutines {
					s.Submit(func(su *sched) any {
						x := uint64(i)
						for range chunks {
							x = privateWork(x)
							su.Yield(struct{}{})
						}
						return x
					})
				}
				if err := s.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*coroutines*chunks), "ns/chunk")
		})
	}
}

// privateWork is 64 steps on the caller's own data, through a real call:
// guestWork's shape without its shared counter, whose cache line every
// runner would otherwise fight over, so that the throughput measures the
// runners.
//
//go:noinline
func privateWork(x uint64) uint64 {
	for range 64 {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// PoolFairness: G coroutines that never yield share R runners under a
// 1 ms slice for a while. min/max is the least-served coroutine's turns
// over the most-served's (a turn: each time it starts running; 0 when
// some coroutine had none), served the fraction of coroutines that had a
// turn, turns/s how many slices the runners gave out.
//
// With R = GOMAXPROCS runners that never give their P up, the monitor's
// ticks come only at Go's own preemption, about every 10 ms; the slices
// still last about 1 ms because each coroutine's Poll reads the clock
// itself (docs/coroutines.md, "Time slices without a free P"), so 2
// runners give out nearly 2,000 slices a second. 10,000 coroutines need
// 5 s of both runners for one slice each: the 5 s window shows how many
// had one, the 15 s window the fairness over three rounds.
func BenchmarkPoolFairness(b *testing.B) {
	for _, c := range []struct {
		g, r int
		d    time.Duration
	}{{100, 2, 5 * time.Second}, {10_000, 2, 5 * time.Second}, {10_000, 2, 15 * time.Second}, {1000, 1, 5 * time.Second}} {
		b.Run(fmt.Sprintf("G=%d/R=%d/%v", c.g, c.r, c.d), func(b *testing.B) { benchFairness(b, c.g, c.r, c.d) })
	}
}

func benchFairness(b *testing.B, coroutines, runners int, window time.Duration) {
	for b.Loop() {
		var mu sync.Mutex
		turns := make(map[string]int, coroutines)
		m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(time.Millisecond/2))
		s := coroutine.NewScheduler(coroutine.WithMonitor(m), coroutine.WithRunners(runners),
			coroutine.WithListener(coroutine.Listener{OnRunning: func(name string) {
				mu.Lock()
				turns[name]++
				mu.Unlock()
			}}))
		var quit atomic.Bool
		for range coroutines {
			s.Submit(func(su *sched) any {
				for !quit.Load() {
					guestWork()
					su.Poll() // preempted here at the end of the slice
				}
				return nil
			})
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(context.Background()) }()
		time.Sleep(window)
		mu.Lock()
		lo, hi, total := math.MaxInt, 0, 0
		for _, n := range turns {
			lo, hi, total = min(lo, n), max(hi, n), total+n
		}
		served := len(turns)
		if served < coroutines {
			lo = 0
		}
		mu.Unlock()
		quit.Store(true)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		m.Stop()
		b.ReportMetric(float64(lo)/float64(max(hi, 1)), "min/max")
		b.ReportMetric(float64(hi), "max-turns")
		b.ReportMetric(float64(served)/float64(coroutines), "served")
		b.ReportMetric(float64(total)/window.Seconds(), "turns/s")
	}
}

// SubmitComplete: an empty coroutine from Submit to its Join, beside a
// goroutine from go to its WaitGroup.Wait.
func BenchmarkSubmitComplete(b *testing.B) {
	b.Run("scheduler", func(b *testing.B) {
		s := coroutine.NewScheduler(coroutine.WithRunners(2))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		keep := s.Submit(func(su *sched) any { // keeps Run running between submits
			for ctx.Err() == nil {
				su.Sleep(time.Millisecond)
			}
			return nil
		})
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		for b.Loop() {
			id := s.Submit(func(*sched) any { return nil })
			if _, err := s.Join(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		cancel()
		<-done
		_ = keep
	})
	b.Run("goroutine", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { wg.Done() }()
			wg.Wait()
		}
	})
}
