package core

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestNotifierCountsEveryPost: concurrent posts, some before the wait and
// some during it, are each consumed once, and the balance holds after.
func TestNotifierCountsEveryPost(t *testing.T) {
	n := NewNotifier()
	for round := 0; round < 200; round++ {
		k := 1 + round%37
		n.Add(k)
		var wg sync.WaitGroup
		for i := 0; i < k; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); n.Post() }()
		}
		if err := n.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if err := n.Balanced(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// TestNotifierWaitTimesOut: a wait whose posts do not all come returns the
// context's cause and leaves exactly the missing operations pending.
func TestNotifierWaitTimesOut(t *testing.T) {
	n := NewNotifier()
	n.Add(3)
	n.Post()
	n.Post()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := n.Wait(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Wait: %v", err)
	}
	if n.Pending() != 1 {
		t.Fatalf("%d pending, want 1", n.Pending())
	}
	if n.Balanced() == nil {
		t.Fatal("Balanced with an operation pending")
	}
	n.Cancel(1)
	if err := n.Balanced(); err != nil {
		t.Fatal(err)
	}
}
