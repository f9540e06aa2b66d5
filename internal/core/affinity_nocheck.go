//go:build !coopcheck

package core

import ts "github.com/coopsuspend/coopsuspend/threadstate"

// checkAffinity is the coopcheck build's goroutine check; apply calls it
// only when threadstate.Checked, so this one is never called.
func (t *Thread) checkAffinity(ts.Event) {}
