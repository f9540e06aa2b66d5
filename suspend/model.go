//go:build coopmodel

package suspend

import "github.com/coopsuspend/coopsuspend/threadstate"

// What the explorer's scenarios (internal/modelcheck) need to see of a
// world and a thread; only in the coopmodel build.

// ModelBalanced checks invariant I14 (nothing pending, every notification
// consumed). Call it only while no initiator is active.
func ModelBalanced(w *World) error { return w.notifier.Balanced() }

// ModelCell returns t's state word cell.
func ModelCell(t *Thread) *threadstate.Cell { return &t.c.Cell }
