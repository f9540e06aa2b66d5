package suspendtest

import (
	"fmt"

	"pgregory.net/rapid"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Policies generates the three suspend policies.
func Policies() *rapid.Generator[suspend.Policy] {
	return rapid.SampledFrom([]suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive})
}

// Events generates the fourteen events of the state machine.
func Events() *rapid.Generator[threadstate.Event] {
	return rapid.Custom(func(t *rapid.T) threadstate.Event {
		return threadstate.Event(rapid.IntRange(0, threadstate.NumEvents-1).Draw(t, "event"))
	})
}

// Words generates well-formed state words whose state is in states (all
// states when states is zero), with any suspend count and no-safepoints
// flag the word format allows. Most are not reachable: use them to test
// code that must handle or reject any word (a decoder, a dump), and
// CheckedCell for reachable ones.
func Words(states threadstate.StateSet) *rapid.Generator[threadstate.Word] {
	if states == 0 {
		for s := threadstate.State(0); s < threadstate.NumStates; s++ {
			states = states.With(s)
		}
	}
	list := states.Slice()
	return rapid.Custom(func(t *rapid.T) threadstate.Word {
		for {
			s := rapid.SampledFrom(list).Draw(t, "state")
			n := rapid.IntRange(0, threadstate.MaxCount).Draw(t, "count")
			ns := rapid.Bool().Draw(t, "noSafepoints")
			if w := threadstate.MakeWord(s, n, ns); w.WellFormed() {
				return w
			}
		}
	})
}

// CheckedCell is a thread state word that checks itself: every event
// applied goes through a threadstate.Cell, and every transition that
// takes effect through a threadstate.Checker, which holds it to the
// invariants of docs/mono-protocol.md §5 (well-formed words, counts that
// match requests, mode changes only where allowed, each event by its own
// actor, and states within the policy's reachable set).
//
// A runtime models its own code paths with it: apply the events each
// path would make, in the order it makes them, and a path that breaks the
// protocol fails with the invariant it breaks.
type CheckedCell struct {
	cell    threadstate.Cell
	checker threadstate.Checker
}

// NewCheckedCell returns a Starting cell whose transitions must stay in
// policy p's reachable states.
func NewCheckedCell(p suspend.Policy) *CheckedCell {
	c := &CheckedCell{}
	c.checker.Reachable = p.States()
	return c
}

// Apply applies e. A refused event returns its *threadstate.TransitionError
// and changes nothing, as Cell.Apply does; a transition that breaks an
// invariant returns the *threadstate.InvariantError.
func (c *CheckedCell) Apply(e threadstate.Event) (threadstate.Result, error) {
	tr, err := c.cell.Transition(e)
	if err != nil {
		return threadstate.NoResult, err
	}
	if err := c.checker.Check(tr); err != nil {
		return tr.Result, err
	}
	return tr.Result, nil
}

// Load returns the current word.
func (c *CheckedCell) Load() threadstate.Word { return c.cell.Load() }

// Visited returns the states the cell has been in.
func (c *CheckedCell) Visited() threadstate.StateSet { return c.checker.Visited() }

// Action is one thing a guest thread's code path does that the protocol
// cares about: Actions generates sequences of them and Do performs one on
// a real attached thread.
type Action uint8

const (
	// Poll: a safepoint (safepoint.Poll).
	Poll Action = iota
	// Block: work inside a blocking region (safepoint.Blocking).
	Block
	// Callback: a callback into guest code from inside a blocking region
	// (EnterUnsafe, a poll, ExitUnsafe), as a native call that calls back
	// into the interpreter makes.
	Callback
	// NoSafepoints: work inside a no-safepoints region.
	NoSafepoints
	numActions
)

func (a Action) String() string {
	switch a {
	case Poll:
		return "Poll"
	case Block:
		return "Block"
	case Callback:
		return "Callback"
	case NoSafepoints:
		return "NoSafepoints"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Actions generates thread-side actions.
func Actions() *rapid.Generator[Action] {
	return rapid.Custom(func(t *rapid.T) Action {
		return Action(rapid.IntRange(0, int(numActions)-1).Draw(t, "action"))
	})
}
