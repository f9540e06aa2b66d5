package threadstate_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/coopsuspend/coopsuspend/internal/stwmodel"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// TestRandomProtocolRuns drives the protocol model with random
// interleavings of one to three threads and the initiator, per policy.
// Every step is checked (refusals, Checker invariants, I13, I14); a run
// may never deadlock; and over all runs the states the threads visit are
// exactly the policy's reachable set (I11): nothing outside it, and all of
// it.
func TestRandomProtocolRuns(t *testing.T) {
	for _, p := range stwmodel.Policies {
		t.Run(p.String(), func(t *testing.T) {
			var visited ts.StateSet
			stops := 0
			// rapid runs fewer cases under -short; repeat rounds until the
			// set is covered, bounded so that an unreachable state still
			// fails the test.
			for round := 0; round < 20 && visited != p.States(); round++ {
				rapid.Check(t, func(rt *rapid.T) {
					threads := rapid.IntRange(1, stwmodel.MaxThreads).Draw(rt, "threads")
					steps := rapid.IntRange(1, 400).Draw(rt, "steps")
					m := stwmodel.New(p, threads)
					var acts []stwmodel.Action
					for i := 0; i < steps; i++ {
						acts = m.Enabled(acts)
						if len(acts) == 0 {
							rt.Fatalf("deadlock after %d steps", i)
						}
						a := acts[rapid.IntRange(0, len(acts)-1).Draw(rt, "action")]
						if err := m.Do(a); err != nil {
							rt.Fatal(err)
						}
					}
					visited |= m.Stats().Visited
					stops += m.Stats().Stops
				})
			}
			t.Logf("%v: visited %v; %d stops completed", p, visited, stops)
			if visited != p.States() {
				t.Errorf("I11: random runs visited %v, want exactly %v", visited, p.States())
			}
		})
	}
}
