//go:build coopmodel

package threadstate

import (
	"github.com/coopsuspend/coopsuspend/internal/modelhooks"
	"github.com/coopsuspend/coopsuspend/internal/seam"
)

// atomicWord is a Cell's word as the explorer sees it: every load and
// compare-and-swap is a scheduling point (internal/seam).
type atomicWord = seam.Uint32

// observe hands every transition a Cell publishes to the explorer's
// observer (internal/modelhooks.Observe), which checks each with a
// Checker per Cell.
func (c *Cell) observe(e Event, r Result, before, after Word) {
	if f := modelhooks.Observe; f != nil {
		f(c, Transition{Actor: e.Actor(), Event: e, Before: before, After: after, Result: r})
	}
}
