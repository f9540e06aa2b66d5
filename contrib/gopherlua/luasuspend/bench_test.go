package luasuspend_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

const benchSrc = `
function spin(k)
  local t = 0
  for i = 1, k do
    t = t + (i * 2) % 7
  end
  return t
end
`

// countingCtx is the floor: a context whose Done only counts, the least
// any context that gopher-lua's loop calls can do.
type countingCtx struct {
	context.Context
	n uint64
}

func (c *countingCtx) Done() <-chan struct{} {
	c.n++
	return nil
}

// everyKCtx polls every k calls of Done, with a countdown: the design the
// adapter does not use, measured to show why. (Its counter is written by
// every caller of Done, so it would be a data race for a context that
// other goroutines may hold; here only the loop calls it.)
type everyKCtx struct {
	context.Context
	th      *suspend.Thread
	left, k uint32
}

func (c *everyKCtx) Done() <-chan struct{} {
	c.left--
	if c.left == 0 {
		c.left = c.k
		safepoint.Poll(c.th)
	}
	return nil
}

// spinState returns a state with benchSrc loaded, its context set to ctx
// if one is given, and spin. (It may run on any goroutine: benchSrc
// loads, or the benchmark is wrong.)
func spinState(ctx ...context.Context) (*lua.LState, lua.LValue) {
	L := lua.NewState()
	if err := L.DoString(benchSrc); err != nil {
		panic(err)
	}
	for _, c := range ctx {
		L.SetContext(c)
	}
	return L, L.GetGlobal("spin")
}

func callSpin(L *lua.LState, spin lua.LValue, k int) (time.Duration, error) {
	start := time.Now()
	err := L.CallByParam(lua.P{Fn: spin, NRet: 1, Protect: true}, lua.LNumber(k))
	L.Pop(1)
	return time.Since(start), err
}

// BenchmarkSpin runs a CPU-bound Lua loop of 10,000 iterations (about
// 60,000 instructions) per op: gopher-lua without a context (its plain
// loop), with context.Background(), with the floor context, and attached
// to a world. On a shared machine the drift between sub-benchmarks is
// larger than the differences: compare ratios with BenchmarkSpinRatio.
//
//	cd contrib/gopherlua && go test -run '^$' -bench 'Spin$' -count 6 ./luasuspend
func BenchmarkSpin(b *testing.B) {
	run := func(b *testing.B, L *lua.LState, spin lua.LValue) {
		for b.Loop() {
			if _, err := callSpin(L, spin, 10_000); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, v := range []struct {
		name string
		ctx  []context.Context
	}{{"no-context", nil}, {"background", []context.Context{context.Background()}}, {"floor", []context.Context{&countingCtx{Context: context.Background()}}}} {
		b.Run(v.name, func(b *testing.B) {
			L, spin := spinState(v.ctx...)
			defer L.Close()
			run(b, L, spin)
		})
	}
	b.Run("adapter", func(b *testing.B) {
		w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
		L, spin := spinState()
		defer L.Close()
		if err := luasuspend.Run(w, L, "bench", func(*luasuspend.Guest) error {
			run(b, L, spin)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSpinRatio runs the variants of the CPU-bound loop in turn, one
// 10,000-iteration call each per round and then again in the reverse
// order (so that a drift of the machine during the round hits all alike),
// each variant on a goroutine of its own (a goroutine is one thread, and
// all are handed their calls alike), and reports the median ratios over
// the rounds:
//
//   - bg/plain: context.Background() against no context (gopher-lua's
//     own price for a context: its loop with a select per instruction).
//   - floor/plain, floor/bg: the floor context, whose Done only counts.
//   - adapter/floor: the adapter (polling before every instruction)
//     against the floor: the target is at most 1.05.
//   - adapter/bg, adapter/plain.
//   - K64/floor, K64/adapter: a context that counts down and polls every
//     64 calls, the design the adapter does not use.
//
// and each variant's mean time per call (plain-ns/call, bg-ns/call,
// floor-ns/call, adapter-ns/call, K64-ns/call), which benchstat can
// compare between runs.
//
// Compare in one run:
//
//	cd contrib/gopherlua && go test -run '^$' -bench SpinRatio -benchtime 400x ./luasuspend
func BenchmarkSpinRatio(b *testing.B) {
	const iters = 10_000
	w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
	type variant struct {
		name string
		run  chan struct{}
		took chan time.Duration
		done chan error
		sum  time.Duration // this round's
		all  time.Duration // every round's
	}
	var variants []*variant
	// start runs a variant on a goroutine of its own: attach wraps its
	// run (an attachment is per goroutine), which makes one call per
	// request and answers with its time.
	start := func(name string, attach func(L *lua.LState, run func() error) error) *variant {
		v := &variant{name: name, run: make(chan struct{}), took: make(chan time.Duration), done: make(chan error, 1)}
		variants = append(variants, v)
		go func() {
			L, spin := spinState()
			defer L.Close()
			v.done <- attach(L, func() error {
				for range v.run {
					d, err := callSpin(L, spin, iters)
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
	withContext := func(ctx context.Context) func(*lua.LState, func() error) error {
		return func(L *lua.LState, run func() error) error {
			if ctx != nil {
				L.SetContext(ctx)
			}
			return run()
		}
	}
	plain := start("plain", withContext(nil))
	bg := start("bg", withContext(context.Background()))
	floor := start("floor", withContext(&countingCtx{Context: context.Background()}))
	adapter := start("adapter", func(L *lua.LState, run func() error) error {
		return luasuspend.Run(w, L, "adapter", func(*luasuspend.Guest) error { return run() })
	})
	k64 := start("K64", func(L *lua.LState, run func() error) error {
		th, err := w.Attach("K=64")
		if err != nil {
			return err
		}
		L.SetContext(&everyKCtx{Context: context.Background(), th: th, left: 64, k: 64})
		return errors.Join(run(), th.Detach())
	})
	defer func() {
		for _, v := range variants {
			close(v.run)
			if err := <-v.done; err != nil {
				b.Error(err)
			}
		}
	}()
	ratios := map[string][]float64{}
	ratio := func(name string, x, y *variant) {
		ratios[name] = append(ratios[name], float64(x.sum)/float64(y.sum))
	}
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
		ratio("bg/plain", bg, plain)
		ratio("floor/plain", floor, plain)
		ratio("floor/bg", floor, bg)
		ratio("adapter/floor", adapter, floor)
		ratio("adapter/bg", adapter, bg)
		ratio("adapter/plain", adapter, plain)
		ratio("K64/floor", k64, floor)
		ratio("K64/adapter", k64, adapter)
	}
	for name, rs := range ratios {
		b.ReportMetric(testutil.Median(rs), name)
	}
	for _, v := range variants {
		b.ReportMetric(float64(v.all.Nanoseconds())/float64(2*b.N), v.name+"-ns/call")
	}
}

// BenchmarkStopLatency measures stops of a world of guests running the
// CPU-bound loop (1 guest, and 4 on this 2-CPU machine), under a storm,
// per policy. Reported as p50-ns, p99-ns and max-ns of the time from
// Stop's call to every guest stopped; each b.Loop iteration is one
// millisecond of the storm.
//
//	cd contrib/gopherlua && go test -run '^$' -bench StopLatency ./luasuspend
func BenchmarkStopLatency(b *testing.B) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
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
						L, spin := spinState()
						defer L.Close()
						done <- luasuspend.Run(w, L, fmt.Sprint("spin-", i), func(*luasuspend.Guest) error {
							for ctx.Err() == nil {
								if _, err := callSpin(L, spin, 1000); err != nil {
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
