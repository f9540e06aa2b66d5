//go:build coopmodel

package suspend

import "github.com/coopsuspend/coopsuspend/internal/modelhooks"

// What the explorer's scenarios (internal/modelcheck) need to see of a
// world and a thread, handed over through internal/modelhooks so that
// the public API stays the same in this build.
func init() {
	modelhooks.Balanced = func(w any) error { return w.(*World).notifier.Balanced() }
	modelhooks.Cell = func(t any) any { return &t.(*Thread).c.Cell }
}
