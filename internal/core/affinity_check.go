//go:build coopcheck

package core

import (
	"fmt"

	"github.com/coopsuspend/coopsuspend/internal/goid"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// checkAffinity panics with a *threadstate.TransitionError unless the
// calling goroutine is the one that attached the thread. A thread-side
// call from another goroutine breaks the protocol silently: a Poll from a
// stranger parks the stranger while the real thread runs on through a
// stop. Only the coopcheck build pays for the check (a stack trace per
// slow-path call); Poll's fast path never comes here.
func (t *Thread) checkAffinity(e ts.Event) {
	if err := t.strangerError(); err != nil {
		err.Event = e
		panic(err)
	}
}

// checkCallAffinity is checkAffinity for a thread-side call that applies
// no event (ExitUnsafe with a Cookie that re-enters no region): the error
// names the call.
func (t *Thread) checkCallAffinity(call string) {
	if err := t.strangerError(); err != nil {
		err.Call = call
		panic(err)
	}
}

// strangerError returns the error for a caller that is not the attached
// goroutine, or nil.
func (t *Thread) strangerError() *ts.TransitionError {
	if t.Owner == 0 {
		return nil // not attached yet: Init and Attach run on the owner
	}
	if g := goid.Current(); g != t.Owner {
		return &ts.TransitionError{Thread: t.Name, Word: t.Cell.Load(),
			Reason: fmt.Sprintf("called from goroutine %d, but the thread is attached to goroutine %d: "+
				"thread-side calls (Poll, regions, Detach) belong to the attached goroutine", g, t.Owner)}
	}
	return nil
}
