package threadstate

// TableRule is a copy of one cell of the table, for tests that break the
// table on purpose (mutation tests of the model checker).
type TableRule = rule

// SwapRule replaces the cell for (e, s) and returns the previous one.
func SwapRule(e Event, s State, r TableRule) TableRule {
	old := table[e][s]
	table[e][s] = r
	compile()
	return old
}

// RuleWithArm returns r with its arm for count n replaced by one that moves
// to next with count change dc and result res.
func RuleWithArm(r TableRule, n int, next State, dc int, res Result) TableRule {
	arms := append([]arm(nil), r.arms...)
	for i := range arms {
		if arms[i].when.has(n) {
			arms[i].next, arms[i].count, arms[i].result = next, countOp(dc), res
		}
	}
	r.arms = arms
	return r
}

// ArmsCoverChecks reports the first (event, state, count, flag) where the
// checks of a cell let a word through but no arm matches it.
func ArmsCoverChecks() (Event, State, int, bool, bool) {
	for e := Event(0); e < NumEvents; e++ {
		for s := State(0); s < NumStates; s++ {
			r := &table[e][s]
			if r.refused() {
				continue
			}
			for n := 0; n <= MaxCount; n++ {
				for _, ns := range []bool{false, true} {
					w := MakeWord(s, n, ns)
					pass := true
					for _, c := range r.checks {
						pass = pass && c.holds(w)
					}
					if !pass {
						continue
					}
					matched := false
					for _, a := range r.arms {
						matched = matched || a.when.has(n)
					}
					if !matched {
						return e, s, n, ns, false
					}
				}
			}
		}
	}
	return 0, 0, 0, false, true
}
