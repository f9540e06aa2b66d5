// Package testenv tells the project's tests about the Go runtime they run
// under, so that a test that cannot hold there skips with a message
// instead of hanging.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// AsyncPreemptOff reports whether Go's asynchronous preemption is off
// (GODEBUG=asyncpreemptoff=1). Then a goroutine gives up its P only at a
// function call's prologue, a blocking operation or a yield: a loop whose
// only safepoint is an inlined Poll keeps its P for ever.
func AsyncPreemptOff() bool {
	off := false
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		switch strings.TrimSpace(kv) {
		case "asyncpreemptoff=1":
			off = true
		case "asyncpreemptoff=0":
			off = false
		}
	}
	return off
}

// NeedsAsyncPreemption skips t when asynchronous preemption is off: the
// test runs goroutines that spin without a function call (a guest loop
// without a safepoint, on purpose) while an unattached goroutine must get
// a CPU, which Go then cannot guarantee. why says what spins.
func NeedsAsyncPreemption(t testing.TB, why string) {
	t.Helper()
	if AsyncPreemptOff() {
		t.Skipf("needs Go's asynchronous preemption, which GODEBUG=asyncpreemptoff=1 turns off: %s "+
			"(see docs/design.md, \"Running without Go's preemption\")", why)
	}
}

// Preemptible is a call that Go can preempt at, for test goroutines that
// stand for guest threads: a real interpreter's dispatch loop makes calls,
// and without asynchronous preemption a loop without one never yields its
// P. It is not inlined, and it calls a function that is not inlined
// either, so it is not a leaf and keeps its stack check, the check the
// scheduler's preemption request trips.
//
//go:noinline
func Preemptible() { preemptibleLeaf() }

//go:noinline
func preemptibleLeaf() {}
