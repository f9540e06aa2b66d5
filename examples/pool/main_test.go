package main

import (
	"bytes"
	"testing"
)

// TestPool runs the demonstration small and checks what it claims: each
// stop holds at most one thread per runner, whatever the number of
// guests, and no guest moves while the world is stopped or while it is
// paused (run fails if one does). Under the race detector it also shows
// that the stops and pauses alone order the reads of the guests' state.
func TestPool(t *testing.T) {
	cfg := config{guests: 1000, runners: 2, stops: 30, pauses: 10}
	var out bytes.Buffer
	rep, err := run(cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.stops != cfg.stops || rep.pauses != cfg.pauses {
		t.Errorf("%d stops and %d pauses, want %d and %d", rep.stops, rep.pauses, cfg.stops, cfg.pauses)
	}
	if rep.maxThreads == 0 || rep.maxThreads > cfg.runners {
		t.Errorf("a stop held %d threads; want one per runner at most (%d), never one per guest", rep.maxThreads, cfg.runners)
	}
}
