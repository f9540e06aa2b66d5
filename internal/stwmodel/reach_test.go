package stwmodel

import (
	"testing"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// TestReach: every word Reach finds a path to is the word a fresh Cell
// holds after that path, and the words it refuses are exactly the ones
// CheckWord rejects or that need a count no single path produces.
func TestReach(t *testing.T) {
	reachable := 0
	for raw := uint32(0); raw <= 0xffff; raw++ {
		w := ts.Word(raw)
		path, ok := Reach(w)
		if !ok {
			continue
		}
		reachable++
		if err := ts.CheckWord(w); err != nil {
			t.Fatalf("Reach found a path to an invalid word: %v", err)
		}
		var c ts.Cell
		for _, e := range path {
			if _, err := c.Apply(e); err != nil {
				t.Fatalf("path to %v: %v", w, err)
			}
		}
		if got := c.Load(); got != w {
			t.Fatalf("path %v leads to %v, not %v", path, got, w)
		}
	}
	// Every valid word but AsyncSuspendRequested with a count above one
	// (a second request of a requested thread is refused) is reachable.
	if want := 3 + 2 + 5*255 + 2*1; reachable != want {
		t.Fatalf("%d reachable words, want %d", reachable, want)
	}
	if _, ok := Reach(ts.MakeWord(ts.Running, 3, false)); ok {
		t.Fatal("reached an invalid word")
	}
}
