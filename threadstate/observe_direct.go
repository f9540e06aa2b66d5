//go:build !coopmodel

package threadstate

import "sync/atomic"

// atomicWord is a Cell's word: sync/atomic's own type. The explorer's
// build (observe_model.go) puts internal/seam's in its place. The alias
// is declared here, beside the sync/atomic import, rather than as
// seam.Uint32: the compiler inlines atomic.(*Uint32).Load into Cell.Load
// (cost 7, Poll stays inlinable) only when this package imports
// sync/atomic itself; through the seam's alias alone the cost was 60.
type atomicWord = atomic.Uint32

// observe is the explorer's view of every published transition
// (observe_model.go); here it is nothing.
func (*Cell) observe(Event, Result, Word, Word) {}
