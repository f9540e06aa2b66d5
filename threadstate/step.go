package threadstate

// Step applies event e to word w and returns the new word and the result.
// It is pure: the caller publishes the new word (Cell.Apply does so with a
// compare-and-swap). Where Mono's transition would be fatal, Step returns
// the unchanged word, NoResult and a *TransitionError that names the word,
// the event and the reason. docs/state-machine.md lists every transition.
func Step(w Word, e Event) (Word, Result, error) {
	// Step reads the transition table (table.go) through a compiled copy
	// that turns each cell's checks into one count range and one flag
	// test, and each outcome into word arithmetic; a word the compiled
	// cell does not admit takes the slow path, which reads the table
	// itself to say which check failed.
	s := w & stateMask
	if e >= NumEvents || s >= NumStates || w&reservedBitsMask != 0 {
		return stepRefused(w, e)
	}
	c := &compiled[e][s]
	n := uint8(w >> countShift)
	if n < c.lo || n > c.hi || w&c.flagMask != c.flagWant {
		return stepRefused(w, e)
	}
	a := &c.arms[0]
	if n < a.lo || n > a.hi {
		a = &c.arms[1]
	}
	return Word(uint32(w)&a.keep|a.set) + a.add, a.result, nil
}

// stepRefused is Step's slow path: it finds in the table why (w, e) is refused.
func stepRefused(w Word, e Event) (Word, Result, error) {
	if !e.Valid() {
		return w, NoResult, &TransitionError{Word: w, Event: e, Reason: "undefined event"}
	}
	if !w.WellFormed() {
		return w, NoResult, &TransitionError{Word: w, Event: e,
			Reason: "malformed word: undefined state or reserved bits set"}
	}
	r := &table[e][w.State()]
	if r.refused() {
		return w, NoResult, &TransitionError{Word: w, Event: e, Reason: refusalReason(e, w.State())}
	}
	for i := range r.checks {
		if !r.checks[i].holds(w) {
			return w, NoResult, &TransitionError{Word: w, Event: e, Reason: r.checks[i].why}
		}
	}
	// Unreachable while compile is right: TestStepMatchesReference and
	// TestTableArmsCoverChecks would fail first.
	return w, NoResult, &TransitionError{Word: w, Event: e, Reason: "no outcome for this word"}
}

// compiledRule is a table cell in the form Step evaluates: the words the
// checks admit are those with a count in [lo, hi] and w&flagMask ==
// flagWant (flagMask is zero when the cell takes either flag); a refused
// cell admits none (lo > hi).
type compiledRule struct {
	lo, hi             uint8
	flagMask, flagWant Word
	arms               [2]compiledArm
}

// compiledArm is an outcome as arithmetic on the word:
// new = (w & keep | set) + add.
type compiledArm struct {
	lo, hi uint8
	result Result
	keep   uint32
	set    uint32
	add    Word
}

var compiled [NumEvents][NumStates]compiledRule

func init() { compile() }

// compile derives compiled from table.
func compile() {
	for e := range compiled {
		for s := range compiled[e] {
			compiled[e][s] = compileRule(&table[e][s])
		}
	}
}

func compileRule(r *rule) compiledRule {
	c := compiledRule{lo: 1, hi: 0} // admits nothing
	if r.refused() {
		return c
	}
	c.lo, c.hi = 0, MaxCount
	for _, chk := range r.checks {
		switch chk.flag {
		case flagClear:
			c.flagMask, c.flagWant = noSafepointsBit, 0
		case flagSet:
			c.flagMask, c.flagWant = noSafepointsBit, noSafepointsBit
		default:
			c.lo, c.hi = max(c.lo, chk.count.lo), min(c.hi, chk.count.hi)
		}
	}
	for i, a := range r.arms {
		ca := compiledArm{lo: a.when.lo, hi: a.when.hi, result: a.result, keep: 0xffff}
		if a.next != sameState {
			ca.keep &^= stateMask
			ca.set |= uint32(a.next)
		}
		switch a.flag {
		case setFlag:
			ca.set |= noSafepointsBit
		case clearFlag:
			ca.keep &^= noSafepointsBit
		}
		ca.add = Word(int32(a.count) << countShift)
		c.arms[i] = ca
	}
	if len(r.arms) == 1 {
		c.arms[1] = c.arms[0]
	}
	return c
}
