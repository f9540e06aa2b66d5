package threadstate_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// TestHistory: checked builds remember the last transitions of a Cell,
// oldest first, and print them in a TransitionError; normal builds
// remember nothing.
func TestHistory(t *testing.T) {
	var c ts.Cell
	mustApply(t, &c, ts.Attach)
	for i := 0; i < 20; i++ {
		mustApply(t, &c, ts.DoBlocking)
		mustApply(t, &c, ts.DoneBlocking)
	}
	mustApply(t, &c, ts.BeginNoSafepoints)
	_, err := c.Apply(ts.StatePoll) // a poll inside a no-safepoints region
	var te *ts.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("poll in a no-safepoints region: %v", err)
	}
	h := c.History()
	if !ts.Checked {
		if h != nil || te.History != nil {
			t.Fatal("a normal build recorded history")
		}
		return
	}
	if len(h) != 16 || len(te.History) != 16 {
		t.Fatalf("history has %d records (error: %d), want 16", len(h), len(te.History))
	}
	last := h[len(h)-1]
	if last.Event != ts.BeginNoSafepoints || last.After != ts.MakeWord(ts.Running, 0, true) || last.Actor != ts.Self {
		t.Fatalf("newest record %v", last)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Before != h[i-1].After {
			t.Fatalf("records %d and %d do not chain: %v then %v", i-1, i, h[i-1], h[i])
		}
	}
	msg := te.Error()
	if !strings.Contains(msg, "last transitions, oldest first:") ||
		!strings.Contains(msg, "RUNNING (0x2) -BEGIN_NO_SAFEPOINTS-> RUNNING nosafepoints (0x82): NoResult [self]") {
		t.Fatalf("error does not print the history:\n%s", msg)
	}
}

// TestHistoryConcurrent records from several goroutines at once; under
// -race this proves the ring is race-free, and every snapshot holds at
// most the ring's size of well-formed records.
func TestHistoryConcurrent(t *testing.T) {
	var c ts.Cell
	mustApply(t, &c, ts.Attach)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				// A no-op transition: any number may run at once.
				if _, err := c.Apply(ts.AbortBlocking); err != nil {
					t.Error(err)
					return
				}
				for _, r := range c.History() {
					if r.Event != ts.AbortBlocking && r.Event != ts.Attach {
						t.Errorf("torn record %v", r)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := len(c.History()); ts.Checked && n != 16 || !ts.Checked && n != 0 {
		t.Fatalf("%d records", n)
	}
}
