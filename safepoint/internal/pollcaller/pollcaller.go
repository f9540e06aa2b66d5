// Package pollcaller is a caller of safepoint.Poll for TestPollInlines:
// an interpreter-like loop whose poll must compile to an inlined load and
// compare.
package pollcaller

import (
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// Run polls once per iteration of a loop, as an interpreter polls at its
// backward branches.
func Run(t *suspend.Thread, n int) (sum int) {
	for i := 0; i < n; i++ {
		safepoint.Poll(t)
		sum += i
	}
	return sum
}
