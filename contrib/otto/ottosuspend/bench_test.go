package ottosuspend_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// spinVM returns a VM with spinSrc loaded and its spin function. (It may
// run on any goroutine: spinSrc loads, or the benchmark is wrong.)
func spinVM() (*otto.Otto, otto.Value) {
	vm := newVM(nil)
	spin, err := vm.Get("spin")
	if err != nil {
		panic(err)
	}
	return vm, spin
}

func callSpin(spin otto.Value, k int) (time.Duration, error) {
	start := time.Now()
	_, err := spin.Call(otto.UndefinedValue(), k)
	return time.Since(start), err
}

// variant is one way of running the CPU-bound loop, on a goroutine of its
// own, driven by ratioRounds.
type variant struct {
	name string
	run  chan struct{}
	took chan time.Duration
	done chan error
	sum  time.Duration // this round's
	all  time.Duration // every round's
}

// startVariant runs a variant on a goroutine of its own: setup gets the
// VM before the first call and wraps the calls (it attaches, locks the
// goroutine, sets an Interrupt channel), and each request makes one call
// of spin(k) and answers with its time.
func startVariant(name string, k int, setup func(vm *otto.Otto, calls func() error) error) *variant {
	v := &variant{name: name, run: make(chan struct{}), took: make(chan time.Duration), done: make(chan error, 1)}
	go func() {
		vm, spin := spinVM()
		v.done <- setup(vm, func() error {
			for range v.run {
				d, err := callSpin(spin, k)
				if err != nil {
					return err
				}
				v.took <- d
			}
			return nil
		})
	}()
	return v
}

// ratioRounds runs the variants in turn, one call each per round and then
// again in the reverse order (so that a drift of the machine during the
// round hits all alike), one round per b.Loop iteration, and reports the
// median of each ratio over the rounds and each variant's mean time per
// call (name-ns/call).
func ratioRounds(b *testing.B, variants []*variant, ratios [][2]*variant) {
	defer func() {
		for _, v := range variants {
			close(v.run)
			if err := <-v.done; err != nil {
				b.Error(err)
			}
		}
	}()
	got := map[string][]float64{}
	for b.Loop() {
		for _, v := range variants {
			v.sum = 0
		}
		for _, v := range variants {
			v.run <- struct{}{}
			v.sum += <-v.took
		}
		for _, v := range slices.Backward(variants) {
			v.run <- struct{}{}
			v.sum += <-v.took
		}
		for _, v := range variants {
			v.all += v.sum
		}
		for _, r := range ratios {
			name := r[0].name + "/" + r[1].name
			got[name] = append(got[name], float64(r[0].sum)/float64(r[1].sum))
		}
	}
	for name, rs := range got {
		b.ReportMetric(testutil.Median(rs), name)
	}
	for _, v := range variants {
		b.ReportMetric(float64(v.all.Nanoseconds())/float64(2*b.N), v.name+"-ns/call")
	}
}

// withInterrupt gives the VM an idle Interrupt channel, as an embedder
// that halts scripts does: otto then selects on it, and calls
// runtime.Gosched, before every node.
func withInterrupt(vm *otto.Otto, calls func() error) error {
	vm.Interrupt = make(chan func(), 1)
	return calls()
}

func plain(_ *otto.Otto, calls func() error) error { return calls() }

func attached(w *suspend.World, name string, opts ...ottosuspend.Option) func(*otto.Otto, func() error) error {
	return func(vm *otto.Otto, calls func() error) error {
		return ottosuspend.Run(w, vm, name, func(*ottosuspend.Guest) error { return calls() }, opts...)
	}
}

// BenchmarkSpinRatio compares, in one process, the adapter with otto
// itself on a CPU-bound JavaScript loop (spin(2000): 2,000 iterations of
// t = t + (i * 2) % 7), each variant on a goroutine of its own (the
// adapter's attached to a coop world), alternating (see ratioRounds):
//
//   - adapter/idle: the adapter against otto with an idle Interrupt
//     channel, the least any Interrupt-based poll can cost (otto's own
//     select and runtime.Gosched per node): the target is at most 1.05.
//
//   - forwarding/idle: the adapter with the embedder's own channel set
//     at Attach (a forwarder goroutine waits on it).
//
//   - idle/plain: otto's own price for an Interrupt channel.
//
//   - adapter/plain.
//
//     cd contrib/otto && go test -run '^$' -bench SpinRatio -benchtime 400x ./ottosuspend
func BenchmarkSpinRatio(b *testing.B) {
	const k = 2000
	w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
	p := startVariant("plain", k, plain)
	idle := startVariant("idle", k, withInterrupt)
	adapter := startVariant("adapter", k, attached(w, "adapter"))
	fwd := startVariant("forwarding", k, func(vm *otto.Otto, calls func() error) error {
		vm.Interrupt = make(chan func(), 1)
		return attached(w, "forwarding")(vm, calls)
	})
	ratioRounds(b, []*variant{p, idle, adapter, fwd}, [][2]*variant{
		{adapter, idle}, {fwd, idle}, {idle, p}, {adapter, p},
	})
}

// BenchmarkHybridRatio measures what a hybrid (or preemptive) world costs
// an otto guest: Attach locks the guest's goroutine to its OS thread (so
// that signals can find it), and otto calls runtime.Gosched before every
// node once Interrupt is set; a Gosched on a locked goroutine hands its
// thread over and waits to get it back. spin(1000) per call, alternating:
//
//   - hybrid/coop: the adapter in a hybrid world against the adapter in
//     a coop world.
//
//   - hybrid/idle-locked: the adapter in a hybrid world against otto
//     with an idle Interrupt channel on a goroutine locked to its thread
//     by LockOSThread, without the library: about 1, the cost is otto's
//     Gosched on a locked thread.
//
//   - idle-locked/idle: that cost, without the library.
//
//     cd contrib/otto && go test -run '^$' -bench HybridRatio -benchtime 20x ./ottosuspend
func BenchmarkHybridRatio(b *testing.B) {
	const k = 1000
	coop := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
	hybrid := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Hybrid))
	idle := startVariant("idle", k, withInterrupt)
	locked := startVariant("idle-locked", k, func(vm *otto.Otto, calls func() error) error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return withInterrupt(vm, calls)
	})
	c := startVariant("coop", k, attached(coop, "coop"))
	h := startVariant("hybrid", k, attached(hybrid, "hybrid"))
	ratioRounds(b, []*variant{idle, locked, c, h}, [][2]*variant{
		{h, c}, {h, locked}, {locked, idle}, {c, idle},
	})
}

// BenchmarkStopLatency measures stops of a world of guests running the
// CPU-bound loop (1 guest, and 4 on this 2-CPU machine), under a storm,
// per policy. Reported as p50-ns, p99-ns and max-ns of the time from
// Stop's call to every guest stopped; each b.Loop iteration is one
// millisecond of the storm.
//
//	cd contrib/otto && go test -run '^$' -bench StopLatency -benchtime 2000x ./ottosuspend
func BenchmarkStopLatency(b *testing.B) {
	for _, p := range policies {
		for _, n := range []int{1, 4} {
			b.Run(fmt.Sprintf("%v/guests=%d", p, n), func(b *testing.B) {
				w := suspendtest.NewWorld(b, suspend.WithPolicy(p))
				if err := w.CheckSignals(); err != nil {
					b.Skipf("%v needs asynchronous suspension, which does not work here: %v", p, err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, n)
				for i := range n {
					go func() {
						vm, spin := spinVM()
						done <- ottosuspend.Run(w, vm, fmt.Sprint("spin-", i), func(*ottosuspend.Guest) error {
							for ctx.Err() == nil {
								if _, err := callSpin(spin, 100); err != nil {
									return err
								}
							}
							return nil
						})
					}()
				}
				storm := suspendtest.StartStorm(w, suspendtest.StormConfig{})
				// One b.Loop iteration is one millisecond of the storm: each
				// sleeps until its millisecond since the first began has passed.
				var start time.Time
				var storming time.Duration
				for b.Loop() {
					if storming == 0 {
						start = time.Now()
					}
					storming += time.Millisecond
					time.Sleep(time.Until(start.Add(storming)))
				}
				rep, err := storm.End()
				cancel()
				for range n {
					if gerr := <-done; gerr != nil {
						b.Error(gerr)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rep.Stops), "stops")
				b.ReportMetric(float64(rep.Latency.P50.Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(rep.Latency.P99.Nanoseconds()), "p99-ns")
				b.ReportMetric(float64(rep.Latency.Max.Nanoseconds()), "max-ns")
			})
		}
	}
}

// pollers attaches n goroutines to w that poll in a loop, yielding
// between polls (so that the initiator finds a CPU at once on this small
// machine), each with the given attach options, and returns a function
// that ends them.
func pollers(b *testing.B, w *suspend.World, n int, opts ...suspend.AttachOption) func() {
	var quit atomic.Bool
	var wg sync.WaitGroup
	ready := make(chan struct{}, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := w.Attach(fmt.Sprint("poller-", i), opts...)
			if err != nil {
				b.Error(err)
				ready <- struct{}{}
				return
			}
			ready <- struct{}{}
			for !quit.Load() {
				safepoint.Poll(th)
				runtime.Gosched()
			}
			if err := th.Detach(); err != nil {
				b.Error(err)
			}
		}()
	}
	for range n {
		<-ready
	}
	return func() {
		quit.Store(true)
		wg.Wait()
	}
}

// BenchmarkStopNotification shows what the request notification
// (suspend.OnRequest, which the adapter registers for every guest) costs
// a stop that has no otto guest: Stop and Restart of 4 plain polling
// threads, in one process, alternating threads attached without
// OnRequest and threads attached with a no-op OnRequest (each set runs
// only while it is measured: 20 stops, then the other, then again in the
// reverse order, per round). Reported: the median over the rounds of the
// ratio noop/none (1 is nothing measurable), and the median time of one
// Stop+Restart of each.
//
//	cd contrib/otto && go test -run '^$' -bench StopNotification -benchtime 500x ./ottosuspend
func BenchmarkStopNotification(b *testing.B) {
	const n, per = 4, 20
	w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
	ctx := context.Background()
	stops := func(opts ...suspend.AttachOption) time.Duration {
		end := pollers(b, w, n, opts...)
		defer end()
		start := time.Now()
		for range per {
			s, err := w.Stop(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Restart(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	nudge := suspend.OnRequest(func(*suspend.Thread) {})
	var ratios, none, noop []float64
	for b.Loop() {
		a := stops()
		c := stops(nudge)
		c += stops(nudge)
		a += stops()
		ratios = append(ratios, float64(c)/float64(a))
		none = append(none, float64(a.Nanoseconds())/(2*per))
		noop = append(noop, float64(c.Nanoseconds())/(2*per))
	}
	b.ReportMetric(testutil.Median(ratios), "noop/none")
	b.ReportMetric(testutil.Median(none), "none-ns/stop")
	b.ReportMetric(testutil.Median(noop), "noop-ns/stop")
}

// BenchmarkGosched measures the primitive behind BenchmarkHybridRatio:
// runtime.Gosched, which otto calls before every node once Interrupt is
// set, on a goroutine of its own and on one locked to its OS thread (as
// Attach locks a guest's under the hybrid and preemptive policies).
//
//	cd contrib/otto && go test -run '^$' -bench Gosched ./ottosuspend
func BenchmarkGosched(b *testing.B) {
	for _, lock := range []bool{false, true} {
		name := "unlocked"
		if lock {
			name = "locked"
		}
		b.Run(name, func(b *testing.B) {
			// The benchmark's goroutine is one of its own: it runs
			// the loop itself, locked to its thread or not.
			if lock {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			for b.Loop() {
				runtime.Gosched()
			}
		})
	}
}
