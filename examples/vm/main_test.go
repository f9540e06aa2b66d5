package main

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// TestDemo runs the demonstration small, once per policy, and checks what
// it claims: every guest computes the right sum, the collector frees
// garbage and keeps the live set within what the program holds, the
// debugger paused threads, and the stuck thread's stop was rolled back.
// (run itself fails if a thread moved while stopped or paused.)
func TestDemo(t *testing.T) {
	diagnose = func() string {
		buf := make([]byte, 4<<20)
		return "\ngoroutines:\n" + string(buf[:runtime.Stack(buf, true)])
	}
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		t.Run(p.String(), func(t *testing.T) {
			cfg := config{threads: 3, iterations: 30_000, keep: 50, sleepMicros: 20,
				gcInterval: time.Millisecond, policy: p.String()}
			var out bytes.Buffer
			rep, err := run(cfg, &out)
			t.Log("\n" + out.String())
			if errors.Is(err, arch.ErrUnsupported) {
				t.Skipf("policy %v cannot run here: %v", p, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.collections == 0 || rep.freed == 0 {
				t.Errorf("collector: %d collections freed %d cells", rep.collections, rep.freed)
			}
			if rep.maxLive > cfg.threads*int(cfg.keep) {
				t.Errorf("%d cells live, more than %d", rep.maxLive, cfg.threads*int(cfg.keep))
			}
			if !rep.timedOutStopRolledBack || rep.stats.TimedOut != 1 {
				t.Errorf("stuck-thread demo: rolled back %v, %d timeouts", rep.timedOutStopRolledBack, rep.stats.TimedOut)
			}
			if rep.stats.Stops != int64(rep.collections)+1 {
				t.Errorf("%d stops for %d collections and one demo stop", rep.stats.Stops, rep.collections)
			}
		})
	}
}

func TestBadPolicy(t *testing.T) {
	var out bytes.Buffer
	if _, err := run(config{threads: 1, iterations: 1, keep: 1, policy: "fair"}, &out); err == nil {
		t.Fatal("run with an unknown policy succeeded")
	}
}

// TestCollectFreesOnlyGarbage checks the collector alone: cells reachable
// from registers or the stack survive, the rest is freed.
func TestCollectFreesOnlyGarbage(t *testing.T) {
	a := &object{head: 1}
	b := &object{head: 2, tail: a}
	garbage := &object{head: 3, tail: b}
	onStack := &object{head: 4}
	t1 := &thread{heap: []*object{a, b, garbage, onStack}}
	t1.regs[1] = value{ref: b}
	t1.stack = []value{{ref: onStack}}
	c := collect([]*thread{t1})
	if c.live != 3 || c.freed != 1 {
		t.Fatalf("live %d freed %d, want 3 and 1", c.live, c.freed)
	}
	for _, o := range t1.heap {
		if o == garbage {
			t.Fatal("garbage survived")
		}
		if o.marked {
			t.Fatal("a mark bit was left set")
		}
	}
}
