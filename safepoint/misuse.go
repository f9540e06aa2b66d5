package safepoint

import (
	"strconv"

	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// cookieMisuse is the error of an ExitUnsafe whose Cookie is not the
// thread's own. No state-machine event is refused: the call is. Event is
// the transition the cookie would have made (DO_BLOCKING, back into a
// blocking region) when it says to re-enter one.
func cookieMisuse(t *core.Thread, c Cookie) error {
	why := "the zero Cookie did not come from EnterUnsafe"
	if c.t != nil {
		why = "the Cookie came from EnterUnsafe on thread " + strconv.Quote(c.t.Name)
	}
	e := &threadstate.TransitionError{Thread: t.Name, Word: t.Cell.Load(), Call: "ExitUnsafe", Reason: why}
	if c.reenter {
		e.Event = threadstate.DoBlocking
	}
	return e
}
