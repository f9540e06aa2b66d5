package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// TestGuestsUnderStorm runs the VM's guests under a suspendtest storm per
// policy: at every stop each thread is in a stopped state of the policy,
// no guest's pc or step count moves while the world is stopped, the
// collector (run inside the check, as the demo's collector runs) keeps
// everything reachable, and every guest still finishes.
func TestGuestsUnderStorm(t *testing.T) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("%v needs asynchronous suspension, which does not work here: %v", p, err)
			}
			cfg := config{threads: 3, iterations: 20_000, keep: 50, sleepMicros: 20}
			g, err := startGuests(w, cfg)
			if err != nil {
				t.Fatal(err)
			}
			snapshot := func() string {
				s := ""
				for _, th := range g.threads {
					s += fmt.Sprintf("%s pc=%d steps=%d; ", th.name, th.pc, th.steps)
				}
				return s
			}
			storm := suspendtest.StartStorm(w, suspendtest.StormConfig{Check: func(*suspend.Stopped) error {
				before := snapshot()
				c := collect(g.threads)
				time.Sleep(50 * time.Microsecond)
				if after := snapshot(); after != before {
					return fmt.Errorf("guests moved while stopped: %s→ %s", before, after)
				}
				if c.live > cfg.threads*int(cfg.keep) {
					return fmt.Errorf("%d cells live after a collection, more than %d", c.live, cfg.threads*int(cfg.keep))
				}
				return nil
			}})
			werr := g.wait()
			rep, serr := storm.End()
			t.Logf("%v: %v", p, rep)
			if werr != nil {
				t.Fatal(werr)
			}
			if serr != nil {
				t.Fatal(serr)
			}
			if rep.Stops == 0 {
				t.Fatal("the storm made no stop while the guests ran")
			}
		})
	}
}
