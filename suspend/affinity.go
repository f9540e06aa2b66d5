package suspend

import (
	"fmt"
	"sync"
)

// One goroutine, one thread. A goroutine attached twice (to two worlds,
// or twice to one) would poll one of its threads and leave the other's
// stops waiting forever; under the signal policies its second record
// would also take the first one's place in the handler's table. Attach
// refuses it through the owners table below, in every policy: Attach
// reads its goroutine's number (internal/goid, a stack trace of about a
// microsecond) in any case, since the registry keeps it to tell when the
// goroutine has ended (goroutineEnded). Under the signal policies
// asyncsuspend.Register, which knows the OS thread the goroutine is
// locked to, would refuse it too.

// owners maps each attached goroutine to its thread's name.
var owners struct {
	sync.Mutex
	m map[uint64]string
}

// claimOwner records that goroutine g attaches thread name, or fails if
// g is attached already.
func claimOwner(g uint64, name string) error {
	owners.Lock()
	defer owners.Unlock()
	if other, ok := owners.m[g]; ok {
		return fmt.Errorf("%w (as thread %q)", ErrAttached, other)
	}
	if owners.m == nil {
		owners.m = make(map[uint64]string)
	}
	owners.m[g] = name
	return nil
}

// forgetOwner undoes claimOwner when the thread detaches or is removed.
func forgetOwner(g uint64) {
	owners.Lock()
	delete(owners.m, g)
	owners.Unlock()
}
