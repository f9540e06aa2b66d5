package starsuspend_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// BenchmarkTaskScriptsStop: G starlark scripts run as task guests on 2
// runners (a 1 ms monitor slice), and a collector stops the world every
// millisecond; ns/op is Stop+Restart, p50-ns and p99-ns its distribution.
// The hybrid variant asks whether signals shorten the tail that Go's
// collector gives a coop stop (docs/coroutines.md, "Stops during a
// garbage collection").
//
//	go test -run '^$' -bench TaskScriptsStop -benchtime 1000x -count 2 ./starsuspend
func BenchmarkTaskScriptsStop(b *testing.B) {
	for _, c := range []struct {
		g      int
		policy suspend.Policy
	}{{100, suspend.Coop}, {10_000, suspend.Coop}, {10_000, suspend.Hybrid}} {
		name := fmt.Sprint("G=", c.g)
		if c.policy != suspend.Coop {
			name += "/" + c.policy.String()
		}
		g := c.g
		b.Run(name, func(b *testing.B) {
			w, err := suspend.NewWorld(suspend.WithPolicy(c.policy))
			if err != nil {
				b.Fatal(err)
			}
			m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(time.Millisecond/2))
			defer m.Stop()
			s := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithMonitor(m), coroutine.WithRunners(2))
			var started atomic.Int64
			ids := make([]uint64, g)
			for i := range g {
				ids[i] = s.Submit(func(task *coroutine.Task) any {
					st := &starlark.Thread{Name: fmt.Sprint("script-", i)}
					guest, err := starsuspend.AttachTask(task, st, st.Name)
					if err != nil {
						return err
					}
					defer func() { _ = guest.Detach() }() // fails only while the script runs, which it no longer does
					started.Add(1)
					_, err = execSrc(st, loop, math.MaxInt32, nil) // runs until cancelled
					return err
				})
			}
			done := make(chan error, 1)
			go func() { done <- s.Run(context.Background()) }()
			for started.Load() < int64(g) {
				time.Sleep(time.Millisecond)
			}
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
			for _, id := range ids {
				s.Cancel(id)
			}
			<-done
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
