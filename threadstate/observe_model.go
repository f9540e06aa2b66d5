//go:build coopmodel

package threadstate

import (
	"sync/atomic"

	"github.com/coopsuspend/coopsuspend/internal/seam"
)

// atomicWord is a Cell's word as the explorer sees it: every load and
// compare-and-swap is a scheduling point (internal/seam).
type atomicWord = seam.Uint32

// observer, when set, sees every transition a Cell publishes, at the
// moment it takes effect: the explorer runs one goroutine at a time and
// never switches between a compare-and-swap and this call, so the order
// observed is the order of the swaps.
var observer atomic.Pointer[func(*Cell, Transition)]

// SetObserver makes f see every transition any Cell publishes from now
// on (nil: none). It exists only in the coopmodel build, for the
// explorer, which checks each transition with a Checker per Cell.
func SetObserver(f func(*Cell, Transition)) {
	if f == nil {
		observer.Store(nil)
		return
	}
	observer.Store(&f)
}

func (c *Cell) observe(e Event, r Result, before, after Word) {
	if f := observer.Load(); f != nil {
		(*f)(c, Transition{Actor: e.Actor(), Event: e, Before: before, After: after, Result: r})
	}
}
