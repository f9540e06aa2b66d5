package threadstate_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/stwmodel"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// TestModelCheck explores every interleaving of one initiator and two
// threads running Mono's protocol (internal/stwmodel) through real Cells,
// breadth first, for each policy. Every step is checked by the model: no
// refused transition (I12), the word and sequence invariants (Checker), the
// stop-the-world end states (I13) and the pending-operation balance (I14).
// On top, the test checks over the whole explored graph that
//
//   - no reachable configuration is a deadlock (no actor can move);
//   - from every configuration the initiator can get back to idle with the
//     lock free (I15: every stop and restart can finish);
//   - the thread states reached are exactly the policy's set (I11);
//   - stops complete, in every end state the policy allows.
//
// The state space is finite (the model's counters are bounded), and the
// search runs until it is exhausted, so the result covers every depth.
func TestModelCheck(t *testing.T) {
	for _, p := range stwmodel.Policies {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			g, err := explore(p, *modelThreads)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v, %d threads: %d configurations, %d transitions, exhausted at depth %d; "+
				"states %v; end states %v; %d stops, %d with timeout, %d pulses",
				p, *modelThreads, len(g.nodes), g.transitions, g.maxDepth, g.states, g.endStates, g.stops, g.timeouts, g.pulses)
			if g.states != p.States() {
				t.Errorf("I11: reached %v, want exactly %v", g.states, p.States())
			}
			if g.endStates != p.EndStates() {
				t.Errorf("I13: stops ended in %v, want every one of %v", g.endStates, p.EndStates())
			}
			if g.stops == 0 {
				t.Error("no stop completed")
			}
			if p != stwmodel.Preemptive && g.timeouts == 0 {
				t.Error("no stop timed out and rolled back")
			}
			if p == stwmodel.Hybrid && g.pulses == 0 {
				t.Error("no pulse in the critical-location retry")
			}
			// Depth: one stop/restart cycle with a thread racing out of its
			// blocking region takes well over 12 steps.
			if g.maxDepth < 12 {
				t.Errorf("explored to depth %d, want at least 12", g.maxDepth)
			}
			if err := g.liveness(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

var modelThreads = flag.Int("modelcheck.threads", 2,
	"threads in TestModelCheck (3 explores ~2.4M configurations for coop, far more for hybrid)")

// TestModelCheckFindsBrokenTables breaks one cell of the table at a time,
// each a plausible bug (two of them real Mono bugs), and requires the model
// checker to find a failure: it is a check that can fail.
func TestModelCheckFindsBrokenTables(t *testing.T) {
	mutants := []struct {
		name   string
		e      ts.Event
		s      ts.State
		n      int
		next   ts.State
		dc     int
		result ts.Result
	}{
		{"DONE_BLOCKING ignores a pending request", ts.DoneBlocking, ts.BlockingSuspendRequested, 1,
			ts.Running, -1, ts.DoneBlockingOk},
		{"REQUEST_PULSE drops the count (mono/mono #12241)", ts.RequestPulse, ts.BlockingAsyncSuspended, 1,
			ts.BlockingSuspendRequested, -1, ts.PulseInitAsyncPulse},
		{"the last REQUEST_RESUME of a BlockingSelfSuspended thread wakes nobody", ts.RequestResume,
			ts.BlockingSelfSuspended, 1, ts.Running, -1, ts.ResumeOk},
		{"REQUEST_SUSPENSION of a Blocking thread waits for a poll", ts.RequestSuspension, ts.Blocking, 0,
			ts.BlockingSuspendRequested, 1, ts.ReqSuspendInitSuspendRunning},
		{"STATE_POLL says park but leaves the thread requested", ts.StatePoll, ts.AsyncSuspendRequested, 1,
			ts.AsyncSuspendRequested, 0, ts.SelfSuspendNotifyAndWait},
		{"ABORT_ASYNC_SUSPEND forgets to count down", ts.AbortAsyncSuspend, ts.AsyncSuspendRequested, 1,
			ts.Running, 0, ts.True},
	}
	for _, mu := range mutants {
		t.Run(mu.name, func(t *testing.T) {
			orig := ts.SwapRule(mu.e, mu.s, ts.TableRule{})
			ts.SwapRule(mu.e, mu.s, ts.RuleWithArm(orig, mu.n, mu.next, mu.dc, mu.result))
			stwmodel.ForgetReach()
			defer func() {
				ts.SwapRule(mu.e, mu.s, orig)
				stwmodel.ForgetReach()
			}()
			var failures []string
			for _, p := range []stwmodel.Policy{stwmodel.Coop, stwmodel.Hybrid} {
				g, err := explore(p, 2)
				if err == nil {
					err = g.liveness()
				}
				if err != nil {
					failures = append(failures, fmt.Sprintf("%v: %s", p, firstLine(err.Error())))
				}
			}
			if len(failures) == 0 {
				t.Fatal("the model checker found nothing wrong")
			}
			t.Log(strings.Join(failures, "; "))
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type node struct {
	snap   stwmodel.Snapshot
	parent int32
	action stwmodel.Action
	depth  int32
	idle   bool
	succ   []int32
}

type graph struct {
	policy      stwmodel.Policy
	threads     int
	nodes       []node
	transitions int
	maxDepth    int
	states      ts.StateSet
	endStates   ts.StateSet
	stops       int
	timeouts    int
	pulses      int
}

func explore(p stwmodel.Policy, threads int) (*graph, error) {
	g := &graph{policy: p, threads: threads}
	ids := map[stwmodel.Snapshot]int32{}
	root := stwmodel.New(p, threads)
	add := func(s stwmodel.Snapshot, parent int32, a stwmodel.Action, depth int32, idle bool) (int32, bool) {
		if id, ok := ids[s]; ok {
			return id, false
		}
		id := int32(len(g.nodes))
		ids[s] = id
		g.nodes = append(g.nodes, node{snap: s, parent: parent, action: a, depth: depth, idle: idle})
		for i := 0; i < threads; i++ {
			g.states = g.states.With(s.Words[i].State())
		}
		if int(depth) > g.maxDepth {
			g.maxDepth = int(depth)
		}
		return id, true
	}
	add(root.Snapshot(), -1, stwmodel.Action{}, 0, root.Idle())
	var acts []stwmodel.Action
	for next := int32(0); int(next) < len(g.nodes); next++ {
		n := g.nodes[next]
		m, err := stwmodel.Restore(p, threads, n.snap)
		if err != nil {
			return nil, err
		}
		acts = m.Enabled(acts)
		if len(acts) == 0 {
			return nil, fmt.Errorf("deadlock: no actor can move\n%s", g.trace(next))
		}
		for _, a := range acts {
			m, err := stwmodel.Restore(p, threads, n.snap)
			if err != nil {
				return nil, err
			}
			if err := m.Do(a); err != nil {
				return nil, fmt.Errorf("%v\n%s\nthen %v", err, g.trace(next), a)
			}
			st := m.Stats()
			g.stops += st.Stops
			g.timeouts += st.Timeouts
			g.pulses += st.Pulses
			g.endStates |= st.EndVisited
			id, _ := add(m.Snapshot(), next, a, n.depth+1, m.Idle())
			g.nodes[next].succ = append(g.nodes[next].succ, id)
			g.transitions++
		}
	}
	return g, nil
}

// liveness checks that every configuration can reach one where the
// initiator is idle: a backward search from the idle configurations over
// the reversed graph must cover them all.
func (g *graph) liveness() error {
	pred := make([][]int32, len(g.nodes))
	for id, n := range g.nodes {
		for _, s := range n.succ {
			pred[s] = append(pred[s], int32(id))
		}
	}
	canIdle := make([]bool, len(g.nodes))
	var queue []int32
	for id, n := range g.nodes {
		if n.idle {
			canIdle[id] = true
			queue = append(queue, int32(id))
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, p := range pred[id] {
			if !canIdle[p] {
				canIdle[p] = true
				queue = append(queue, p)
			}
		}
	}
	for id, ok := range canIdle {
		if !ok {
			return fmt.Errorf("I15: the initiator can never get back to idle from here\n%s", g.trace(int32(id)))
		}
	}
	return nil
}

// trace prints the actions that lead to node id, and the words on the way.
func (g *graph) trace(id int32) string {
	var path []int32
	for ; id > 0; id = g.nodes[id].parent {
		path = append(path, id)
	}
	var b strings.Builder
	b.WriteString("trace from the initial configuration:\n")
	for i := len(path) - 1; i >= 0; i-- {
		n := g.nodes[path[i]]
		fmt.Fprintf(&b, "  %-36v", n.action)
		for j := 0; j < g.threads; j++ {
			fmt.Fprintf(&b, " | %v", n.snap.Words[j])
		}
		b.WriteByte('\n')
	}
	return b.String()
}
