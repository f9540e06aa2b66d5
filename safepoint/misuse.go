package safepoint

import (
	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

func cookieMisuse(t *core.Thread, c Cookie) error {
	why := "ExitUnsafe with the zero Cookie: it did not come from EnterUnsafe"
	if c.t != nil {
		why = "ExitUnsafe with a Cookie from thread " + c.t.Name
	}
	return &threadstate.TransitionError{Thread: t.Name, Word: t.Cell.Load(),
		Event: threadstate.DoBlocking, Reason: why}
}
