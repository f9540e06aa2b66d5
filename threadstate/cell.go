package threadstate

// Cell is a thread's state word, shared by the thread, the initiator and
// the signal handler. Every change is a compare-and-swap loop over Step: load
// the word once, compute the transition from that copy, publish it with a
// CAS, and start again from the load if another actor changed the word in
// between. A refused event never writes.
//
// The zero Cell holds the Starting word. A Cell must not be copied after
// first use.
type Cell struct {
	// hist is empty (zero bytes) unless the library is built with the
	// coopcheck tag; it comes first so that it adds no padding.
	hist history
	word atomicWord // sync/atomic.Uint32 outside the explorer (observe_*.go)
}

// Load returns the current word. Decode fields from the returned copy, never
// from repeated loads, so that they agree with each other.
func (c *Cell) Load() Word { return Word(c.word.Load()) }

// Apply applies e and returns its result. On a refused event it returns a
// *TransitionError (carrying the cell's recent history in checked builds)
// and leaves the word unchanged.
func (c *Cell) Apply(e Event) (Result, error) {
	_, _, r, err := c.apply(e)
	return r, err
}

// Transition applies e like Apply and returns the whole transition: the word
// it was applied to, the word it published and the result.
func (c *Cell) Transition(e Event) (Transition, error) {
	before, after, r, err := c.apply(e)
	return Transition{Actor: e.Actor(), Event: e, Before: before, After: after, Result: r}, err
}

// History returns the cell's most recent transitions, oldest first, in
// builds with the coopcheck tag, and nil otherwise. Under concurrent
// transitions the order of two records made at the same moment may differ
// from the order of their compare-and-swaps.
func (c *Cell) History() []Transition { return c.hist.snapshot() }

func (c *Cell) apply(e Event) (before, after Word, r Result, err error) {
	for {
		before = Word(c.word.Load())
		after, r, err = Step(before, e)
		if err != nil {
			return before, before, r, c.withHistory(err)
		}
		// A transition that changes nothing publishes nothing.
		if after == before || c.word.CompareAndSwap(uint32(before), uint32(after)) {
			c.hist.record(e, r, before, after)
			c.observe(e, r, before, after)
			return before, after, r, nil
		}
	}
}

// withHistory attaches the cell's recent transitions to a refusal from
// Step (always a *TransitionError).
func (c *Cell) withHistory(err error) error {
	terr := err.(*TransitionError)
	terr.History = c.hist.snapshot()
	return terr
}
