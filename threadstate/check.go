package threadstate

import "fmt"

// The invariants of docs/mono-protocol.md §5 that a word or a
// sequence of transitions must keep, as executable checks. CheckWord covers
// what one word must satisfy; Checker follows one thread's transitions and
// covers what a sequence must satisfy. Package tests, the model checker and
// the fuzz targets use them, and so can runtimes that drive Cells with
// their own protocol.
//
// I4 (the count stays below its limit) holds by construction: the count is
// an unsigned 8-bit field and RequestSuspension refuses to increment it at
// MaxCount. I8 (a parked thread makes no transition of its own) is the
// actor rule of I9/I10 applied to the parked states.

// InvariantError reports a broken invariant.
type InvariantError struct {
	// Invariant is its name in docs/mono-protocol.md §5: "I1" … "I11".
	Invariant string
	// Transition is the transition that broke it, or the zero value when
	// a lone word was checked.
	Transition Transition
	// Word is the offending word.
	Word Word
	// Detail says what is wrong.
	Detail string
}

func (e *InvariantError) Error() string {
	if e.Transition == (Transition{}) {
		return fmt.Sprintf("threadstate: invariant %s broken by %v: %s", e.Invariant, e.Word, e.Detail)
	}
	return fmt.Sprintf("threadstate: invariant %s broken by %v: %s", e.Invariant, e.Transition, e.Detail)
}

// CheckWord checks that w is a word the state machine can hold:
//
//	I1  a defined state and zero reserved bits;
//	I2  the count is zero exactly in Starting, Detached, Running and
//	    Blocking, and at least one in every other state;
//	I3  the no-safepoints flag is set only in Running or
//	    AsyncSuspendRequested.
func CheckWord(w Word) error {
	fail := func(inv, format string, args ...any) error {
		return &InvariantError{Invariant: inv, Word: w, Detail: fmt.Sprintf(format, args...)}
	}
	if !w.State().Valid() {
		return fail("I1", "state %d is not one of the %d states", w.State(), NumStates)
	}
	if w&reservedBitsMask != 0 {
		return fail("I1", "reserved bits 16-31 are %#x, must be zero", uint32(w)>>16)
	}
	s, n := w.State(), w.Count()
	if countedStates.Has(s) && n == 0 {
		return fail("I2", "%v must have a suspend count of at least 1", s)
	}
	if !countedStates.Has(s) && n != 0 {
		return fail("I2", "%v must have suspend count 0, has %d", s, n)
	}
	if w.NoSafepoints() && s != Running && s != AsyncSuspendRequested {
		return fail("I3", "the no-safepoints flag is set in %v; only Running and AsyncSuspendRequested may carry it", s)
	}
	return nil
}

// Checker follows the transitions of one thread, in the order they took
// effect, and checks each against the invariants:
//
//	I1-I3  every word is well formed (CheckWord);
//	I5     Starting is left only by Attach and never entered; Detached
//	       is never left;
//	I6     the count equals the requests that incremented it, minus the
//	       resumes that did not fail, minus the aborts that returned True;
//	I7     no transition moves the thread between GC-safe and GC-unsafe
//	       mode except the ones the reference lists;
//	I9/I10 each event is applied by its own actor (Event.Actor);
//	I11    the thread stays within Reachable, when that is set;
//
// and that each transition starts from the word the previous one left. The
// zero Checker follows a thread from its Starting word and checks no
// reachable set.
type Checker struct {
	// Reachable, if not zero, is the set of states the thread may reach
	// under the protocol being checked (e.g. MonoCoopStates).
	Reachable StateSet

	last    Word
	count   int
	started bool
	visited StateSet
}

// Check checks transition t, which must follow the previous one checked.
// After the first error the Checker's view of the thread is unreliable.
func (c *Checker) Check(t Transition) error {
	fail := func(inv, format string, args ...any) error {
		return &InvariantError{Invariant: inv, Transition: t, Word: t.After, Detail: fmt.Sprintf(format, args...)}
	}
	if !c.started {
		c.started = true
		c.visited = c.visited.With(Starting)
	}
	if t.Before != c.last {
		return fail("sequence", "transition starts from %v but the thread was left in %v", t.Before, c.last)
	}
	for _, w := range [...]Word{t.Before, t.After} {
		if err := CheckWord(w); err != nil {
			ie := err.(*InvariantError)
			ie.Transition = t
			return ie
		}
	}
	if want := t.Event.Actor(); t.Actor != want {
		inv := "I9"
		if want == Initiator {
			inv = "I10"
		}
		return fail(inv, "%v is applied by the %v, not the %v", t.Event, want, t.Actor)
	}
	from, to := t.Before.State(), t.After.State()
	switch {
	case from == Detached:
		return fail("I5", "a detached thread takes no transition")
	case from == Starting && t.Event != Attach:
		return fail("I5", "a Starting thread is left only by ATTACH")
	case to == Starting && from != Starting:
		return fail("I5", "nothing enters Starting")
	}

	switch {
	case t.Event == RequestSuspension:
		c.count++
	case t.Event == RequestResume && t.Result != ResumeError,
		t.Event == AbortAsyncSuspend && t.Result == True:
		c.count--
	}
	if t.After.Count() != c.count {
		return fail("I6", "suspend count is %d, but requests minus resumes and aborts is %d", t.After.Count(), c.count)
	}

	if modeOf(from) != modeOf(to) && !modeChangeAllowed(t.Event, from, to) {
		return fail("I7", "%v may not move the thread from %v (%v) to %v (%v)",
			t.Event, from, modeOf(from), to, modeOf(to))
	}

	if c.Reachable != 0 && !c.Reachable.Has(to) {
		return fail("I11", "%v is not reachable under this protocol (reachable: %v)", to, c.Reachable)
	}
	c.visited = c.visited.With(to)
	c.last = t.After
	return nil
}

// Visited returns the states the thread has been in so far.
func (c *Checker) Visited() StateSet { return c.visited }

// gcMode is the GC mode of a state, for invariant I7.
type gcMode uint8

const (
	modeNone    gcMode = iota // Starting, Detached
	modeUnsafe                // Running, AsyncSuspendRequested, SelfSuspended, AsyncSuspended
	modeSafe                  // Blocking, BlockingSuspendRequested, BlockingAsyncSuspended
	modeLeaving               // BlockingSelfSuspended: parked while leaving its GC-safe region
)

func (m gcMode) String() string {
	return [...]string{"not attached", "GC-unsafe", "GC-safe", "leaving GC-safe"}[m]
}

func modeOf(s State) gcMode {
	switch {
	case gcUnsafeStates.Has(s):
		return modeUnsafe
	case gcSafeStates.Has(s):
		return modeSafe
	case s == BlockingSelfSuspended:
		return modeLeaving
	}
	return modeNone
}

// modeChangeAllowed lists the exceptions of I7.
func modeChangeAllowed(e Event, from, to State) bool {
	switch e {
	case Attach, Detach:
		return true
	case DoBlocking:
		return from == Running && to == Blocking
	case DoneBlocking, AbortBlocking:
		return from == Blocking && to == Running ||
			from == BlockingSuspendRequested && to == BlockingSelfSuspended
	case RequestResume:
		return from == BlockingSelfSuspended && to == Running
	case AbortAsyncSuspend:
		return from == BlockingSuspendRequested && to == Running
	}
	return false
}

// From makes c follow a thread whose current word is w, as if it had
// checked every transition that led there: the next transition must start
// from w, and the w.Count() suspenders holding it are taken as
// outstanding.
func (c *Checker) From(w Word) {
	c.started = true
	c.last = w
	c.count = w.Count()
	c.visited = c.visited.With(Starting).With(w.State())
}
