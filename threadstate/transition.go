package threadstate

// Transition is one applied event: who applied it, the word before and
// after, and the result. Cells record them in checked builds, and Checker
// follows sequences of them.
type Transition struct {
	Actor  Actor
	Event  Event
	Before Word
	After  Word
	Result Result
}

// String formats t as "RUNNING (0x2) -DO_BLOCKING-> BLOCKING (0x6):
// DoBlockingContinue [self]".
func (t Transition) String() string {
	b := make([]byte, 0, 96)
	b = append(b, t.Before.String()...)
	b = append(b, " -"...)
	b = append(b, t.Event.String()...)
	b = append(b, "-> "...)
	b = append(b, t.After.String()...)
	b = append(b, ": "...)
	b = append(b, t.Result.String()...)
	if t.Actor != 0 {
		b = append(b, " ["...)
		b = append(b, t.Actor.String()...)
		b = append(b, ']')
	}
	return string(b)
}
