//go:build !coopcheck

package core

import ts "github.com/coopsuspend/coopsuspend/threadstate"

// checkAffinity is the coopcheck build's goroutine check; apply calls it
// only when threadstate.Checked, so this one is never called.
func (t *Thread) checkAffinity(ts.Event) {}

// checkCallAffinity is the coopcheck build's check of a call that applies
// no event; never called in this build either.
func (t *Thread) checkCallAffinity(string) {}
