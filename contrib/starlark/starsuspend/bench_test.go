package starsuspend_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

const benchLoop = `
def spin(n):
    t = 0
    for i in range(n):
        t += i * 2 % 7
    return t
`

// spinFunc compiles benchLoop on st and returns spin.
func spinFunc(b *testing.B, st *starlark.Thread) starlark.Value {
	env, err := starlark.ExecFileOptions(&syntax.FileOptions{}, st, "bench.star", benchLoop, nil)
	if err != nil {
		b.Fatal(err)
	}
	return env["spin"]
}

// BenchmarkSpin runs a CPU-bound starlark loop of 10,000 iterations per
// op: plain starlark; starlark whose OnMaxSteps hook runs every step and
// does nothing but move the limit (the cost of the hook alone); and the
// adapter polling every K steps. On a shared machine the drift between
// sub-benchmarks is larger than the differences: compare ratios with
// BenchmarkSpinRatio and BenchmarkSpinSweep instead.
//
//	cd contrib/starlark && go test -run '^$' -bench 'Spin$' -count 6 ./starsuspend
func BenchmarkSpin(b *testing.B) {
	args := starlark.Tuple{starlark.MakeInt(10_000)}
	b.Run("plain", func(b *testing.B) {
		st := &starlark.Thread{}
		spin := spinFunc(b, st)
		for b.Loop() {
			if _, err := starlark.Call(st, spin, args, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hook-only-K=1", func(b *testing.B) {
		st := &starlark.Thread{}
		st.OnMaxSteps = func(st *starlark.Thread) { st.SetMaxExecutionSteps(st.Steps + 1) }
		st.SetMaxExecutionSteps(1)
		spin := spinFunc(b, st)
		for b.Loop() {
			if _, err := starlark.Call(st, spin, args, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []uint64{1, 4, 16, 64, 256} {
		b.Run(fmt.Sprintf("adapter-K=%d", k), func(b *testing.B) {
			w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
			st := &starlark.Thread{}
			err := starsuspend.Run(w, st, "bench", func(*starsuspend.Guest) error {
				spin := spinFunc(b, st)
				for b.Loop() {
					if _, err := starlark.Call(st, spin, args, nil); err != nil {
						return err
					}
				}
				return nil
			}, starsuspend.WithPollEvery(k))
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkSpinRatio runs the variants of the CPU-bound loop in turn, one
// 10,000-iteration call each per round, so that all see the same machine
// (this one is shared and noisy), and reports the median ratios over the
// rounds:
//
//   - hook/plain: a bare OnMaxSteps hook run every step, which only moves
//     the limit one step on (the price of K=1 before any polling).
//   - poll/plain: the bare hook plus an inlined safepoint.Poll, and
//     nothing else: the floor for any adapter that polls every step.
//   - K1/plain, K16/plain, K64/plain: the adapter at K=1, 16 and 64.
//   - K1/hook and K1/poll: the adapter's own share at K=1, above the bare
//     hook and above the floor.
//
// and each variant's mean time per call (plain-ns/call, hook-ns/call,
// poll-ns/call, K1-ns/call, K16-ns/call, K64-ns/call), which benchstat
// can compare between runs.
//
// Compare in one run:
//
//	cd contrib/starlark && go test -run '^$' -bench SpinRatio -benchtime 400x ./starsuspend
func BenchmarkSpinRatio(b *testing.B) {
	args := starlark.Tuple{starlark.MakeInt(10_000)}
	call := func(st *starlark.Thread, spin starlark.Value) (time.Duration, error) {
		start := time.Now()
		_, err := starlark.Call(st, spin, args, nil)
		return time.Since(start), err
	}
	plain := &starlark.Thread{}
	plainSpin := spinFunc(b, plain)
	hook := &starlark.Thread{}
	hook.OnMaxSteps = func(st *starlark.Thread) { st.SetMaxExecutionSteps(st.Steps + 1) }
	hook.SetMaxExecutionSteps(1)
	hookSpin := spinFunc(b, hook)

	// Each variant attached to the world runs on a goroutine of its own
	// (a goroutine is one thread): attach wraps its run in the attachment,
	// and it runs one call per request and answers with the time.
	w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
	type guest struct {
		run  chan struct{}
		took chan time.Duration
		done chan error
	}
	var guests []*guest
	start := func(attach func(st *starlark.Thread, run func() error) error) *guest {
		g := &guest{run: make(chan struct{}), took: make(chan time.Duration), done: make(chan error, 1)}
		guests = append(guests, g)
		go func() {
			st := &starlark.Thread{}
			g.done <- attach(st, func() error {
				spin := spinFunc(b, st)
				for range g.run {
					d, err := call(st, spin)
					if err != nil {
						return err
					}
					g.took <- d
				}
				return nil
			})
		}()
		return g
	}
	adapter := func(k uint64) *guest {
		return start(func(st *starlark.Thread, run func() error) error {
			return starsuspend.Run(w, st, fmt.Sprint("K=", k), func(*starsuspend.Guest) error { return run() }, starsuspend.WithPollEvery(k))
		})
	}
	poll := start(func(st *starlark.Thread, run func() error) error {
		th, err := w.Attach("hook+poll")
		if err != nil {
			return err
		}
		st.OnMaxSteps = func(st *starlark.Thread) {
			safepoint.Poll(th)
			st.SetMaxExecutionSteps(st.Steps + 1)
		}
		st.SetMaxExecutionSteps(1)
		return errors.Join(run(), th.Detach())
	})
	k1, k16, k64 := adapter(1), adapter(16), adapter(64)
	defer func() {
		for _, g := range guests {
			close(g.run)
			if err := <-g.done; err != nil {
				b.Error(err)
			}
		}
	}()
	took := func(g *guest) time.Duration {
		g.run <- struct{}{}
		return <-g.took
	}
	var hookVsPlain, pollVsPlain, k1VsPlain, k1VsHook, k1VsPoll, k16VsPlain, k64VsPlain []float64
	var all [6]time.Duration // plain, hook, poll, K1, K16, K64: every round's
	for b.Loop() {
		p, err1 := call(plain, plainSpin)
		h, err2 := call(hook, hookSpin)
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		hp, a1, a16, a64 := took(poll), took(k1), took(k16), took(k64)
		for i, d := range [...]time.Duration{p, h, hp, a1, a16, a64} {
			all[i] += d
		}
		hookVsPlain = append(hookVsPlain, float64(h)/float64(p))
		pollVsPlain = append(pollVsPlain, float64(hp)/float64(p))
		k1VsPlain = append(k1VsPlain, float64(a1)/float64(p))
		k1VsHook = append(k1VsHook, float64(a1)/float64(h))
		k1VsPoll = append(k1VsPoll, float64(a1)/float64(hp))
		k16VsPlain = append(k16VsPlain, float64(a16)/float64(p))
		k64VsPlain = append(k64VsPlain, float64(a64)/float64(p))
	}
	b.ReportMetric(testutil.Median(hookVsPlain), "hook/plain")
	b.ReportMetric(testutil.Median(pollVsPlain), "poll/plain")
	b.ReportMetric(testutil.Median(k1VsPlain), "K1/plain")
	b.ReportMetric(testutil.Median(k1VsHook), "K1/hook")
	b.ReportMetric(testutil.Median(k1VsPoll), "K1/poll")
	b.ReportMetric(testutil.Median(k16VsPlain), "K16/plain")
	b.ReportMetric(testutil.Median(k64VsPlain), "K64/plain")
	for i, name := range [...]string{"plain", "hook", "poll", "K1", "K16", "K64"} {
		b.ReportMetric(float64(all[i].Nanoseconds())/float64(b.N), name+"-ns/call")
	}
}

// BenchmarkSpinSweep runs plain starlark and the adapter at K = 1, 2, 4,
// …, 256 in turn, one 10,000-iteration call each per round, and reports
// each K's median ratio to plain over the rounds: the curve the default
// K is chosen from; and each variant's mean time per call (plain-ns/call,
// K1-ns/call, ...).
//
//	cd contrib/starlark && go test -run '^$' -bench SpinSweep -benchtime 300x ./starsuspend
func BenchmarkSpinSweep(b *testing.B) {
	args := starlark.Tuple{starlark.MakeInt(10_000)}
	w := suspendtest.NewWorld(b, suspend.WithPolicy(suspend.Coop))
	ks := []uint64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256} // 0: plain, unattached
	type guest struct {
		run   chan struct{}
		took  chan time.Duration
		done  chan error
		ratio []float64
		all   time.Duration // every round's
	}
	var guests []*guest
	for _, k := range ks {
		g := &guest{run: make(chan struct{}), took: make(chan time.Duration), done: make(chan error, 1)}
		guests = append(guests, g)
		// One goroutine per variant, as in BenchmarkSpinRatio.
		go func() {
			st := &starlark.Thread{}
			run := func() error {
				spin := spinFunc(b, st)
				for range g.run {
					start := time.Now()
					if _, err := starlark.Call(st, spin, args, nil); err != nil {
						return err
					}
					g.took <- time.Since(start)
				}
				return nil
			}
			if k == 0 {
				g.done <- run()
				return
			}
			g.done <- starsuspend.Run(w, st, fmt.Sprint("K=", k), func(*starsuspend.Guest) error { return run() }, starsuspend.WithPollEvery(k))
		}()
	}
	defer func() {
		for _, g := range guests {
			close(g.run)
			if err := <-g.done; err != nil {
				b.Error(err)
			}
		}
	}()
	for b.Loop() {
		var plain time.Duration
		for i, g := range guests {
			g.run <- struct{}{}
			d := <-g.took
			g.all += d
			if i == 0 {
				plain = d
			}
			g.ratio = append(g.ratio, float64(d)/float64(plain))
		}
	}
	for i, g := range guests[1:] {
		b.ReportMetric(testutil.Median(g.ratio), fmt.Sprintf("K%d/plain", ks[i+1]))
	}
	for i, g := range guests {
		name := fmt.Sprintf("K%d", ks[i])
		if ks[i] == 0 {
			name = "plain"
		}
		b.ReportMetric(float64(g.all.Nanoseconds())/float64(b.N), name+"-ns/call")
	}
}

// BenchmarkStopLatency measures stops of a world of 4 guests running the
// CPU-bound loop, under a storm, per policy, at the default K. Reported
// as p50-ns and p99-ns of the time from Stop's call to every guest
// stopped; each b.Loop iteration is one millisecond of the storm.
//
//	cd contrib/starlark && go test -run '^$' -bench StopLatency ./starsuspend
func BenchmarkStopLatency(b *testing.B) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		b.Run(p.String(), func(b *testing.B) {
			w := suspendtest.NewWorld(b, suspend.WithPolicy(p))
			if err := w.CheckSignals(); err != nil {
				b.Skipf("%v needs asynchronous suspension, which does not work here: %v", p, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 4)
			for i := range 4 {
				go func() {
					st := &starlark.Thread{}
					done <- starsuspend.Run(w, st, fmt.Sprint("spin-", i), func(*starsuspend.Guest) error {
						env, err := starlark.ExecFileOptions(&syntax.FileOptions{}, st, "bench.star", benchLoop, nil)
						if err != nil {
							return err
						}
						for ctx.Err() == nil {
							if _, err := starlark.Call(st, env["spin"], starlark.Tuple{starlark.MakeInt(1000)}, nil); err != nil {
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
			for range 4 {
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
