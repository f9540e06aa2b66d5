package suspend

import (
	"fmt"
	"sync"

	"github.com/coopsuspend/coopsuspend/threadstate"
)

// One goroutine, one thread. A goroutine attached twice (to two worlds,
// or twice to one) would poll one of its threads and leave the other's
// stops waiting forever; under the signal policies its second record
// would also take the first one's place in the handler's table. Attach
// refuses it:
//
//   - hybrid and preemptive: always, through asyncsuspend.Register,
//     which knows the OS thread the goroutine is locked to;
//   - coop: in the coopcheck build, through the owners table below. A
//     normal coop build does not check: it would cost every Attach a
//     stack trace (internal/goid) for a mistake the checked build finds.

// owners maps each attached goroutine to its thread's name, in the
// coopcheck build only.
var owners struct {
	sync.Mutex
	m map[uint64]string
}

// claimOwner records that goroutine g attaches thread name, or fails if
// g is attached already. It does nothing outside the coopcheck build.
func claimOwner(g uint64, name string) error {
	if !threadstate.Checked || g == 0 {
		return nil
	}
	owners.Lock()
	defer owners.Unlock()
	if other, ok := owners.m[g]; ok {
		return fmt.Errorf("%w (as thread %q; coopcheck build)", ErrAttached, other)
	}
	if owners.m == nil {
		owners.m = make(map[uint64]string)
	}
	owners.m[g] = name
	return nil
}

// forgetOwner undoes claimOwner when the thread detaches or is swept.
func forgetOwner(g uint64) {
	if !threadstate.Checked || g == 0 {
		return
	}
	owners.Lock()
	delete(owners.m, g)
	owners.Unlock()
}
