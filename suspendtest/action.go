package suspendtest

import (
	"fmt"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// Do performs a on th, which must be the calling goroutine's attached
// thread, running work at the point a describes: after the poll, inside
// the blocking region, inside the callback, or inside the no-safepoints
// region. work may be nil. An unknown action returns an error.
//
// work runs where the runtime's own code would: under Block it must not
// touch the runtime's shared state, since a stop does not wait for it.
func Do(th *suspend.Thread, a Action, work func()) error {
	if work == nil {
		work = func() {}
	}
	switch a {
	case Poll:
		safepoint.Poll(th)
		work()
	case Block:
		safepoint.Blocking(th, work)
	case Callback:
		safepoint.Blocking(th, func() {
			c := safepoint.EnterUnsafe(th)
			defer safepoint.ExitUnsafe(th, c)
			safepoint.Poll(th)
			work()
		})
	case NoSafepoints:
		safepoint.BeginNoSafepoints(th)
		defer safepoint.EndNoSafepoints(th)
		work()
	default:
		return fmt.Errorf("suspendtest: Do: unknown action %v", a)
	}
	return nil
}
