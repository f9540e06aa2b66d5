package threadstate

import (
	"strconv"
	"strings"
)

// TransitionError reports an event that the state machine refuses in the
// thread's current word: one of Mono's fatal cells. Step and Cell return it;
// the thread side of the library panics with it, so a protocol violation is
// loud but recoverable in tests. The word is never changed by a refused
// event.
type TransitionError struct {
	// Thread names the thread; empty when the error comes straight from
	// Step or a Cell, which do not know names.
	Thread string
	// Word is the word the event was refused in.
	Word Word
	// Event is the refused event.
	Event Event
	// Call, when set, names a library call refused for how it was used
	// rather than for the event it applies (safepoint.ExitUnsafe with a
	// Cookie that is not the thread's own); the message names the call,
	// and Event is DoBlocking when the call would have re-entered a
	// blocking region, and meaningless otherwise.
	Call string
	// Reason says why, in the terms of the reference.
	Reason string
	// History holds the cell's most recent transitions, oldest first,
	// when the library is built with the coopcheck tag (Mono's checked
	// build); nil otherwise.
	History []Transition
}

func (e *TransitionError) Error() string {
	var b strings.Builder
	b.WriteString("threadstate: ")
	if e.Thread != "" {
		b.WriteString("thread ")
		b.WriteString(strconv.Quote(e.Thread))
		b.WriteString(": ")
	}
	if e.Call != "" {
		b.WriteString(e.Call)
	} else {
		b.WriteString(e.Event.String())
	}
	b.WriteString(" refused in ")
	b.WriteString(e.Word.String())
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if len(e.History) > 0 {
		b.WriteString("\nlast transitions, oldest first:")
		for _, t := range e.History {
			b.WriteString("\n\t")
			b.WriteString(t.String())
		}
	}
	return b.String()
}

// WithThread returns a copy of e that names the thread. Layers that own a
// Cell use it to say which thread broke the protocol.
func (e *TransitionError) WithThread(name string) *TransitionError {
	c := *e
	c.Thread = name
	return &c
}
