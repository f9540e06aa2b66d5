package main

import (
	"strings"
	"testing"
)

// TestRun runs the program small under each policy: every guest is
// paused alone twice, stopped with the others twice, shows a call stack
// inside run, and computes the right result (run fails otherwise).
func TestRun(t *testing.T) {
	for _, p := range []string{"coop", "hybrid", "preemptive"} {
		t.Run(p, func(t *testing.T) {
			var out strings.Builder
			err := run(config{guests: 2, n: 60_000, every: 16, policy: p}, &out)
			t.Log("\n" + out.String())
			if err != nil {
				if strings.Contains(err.Error(), "cannot run here") {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			if n := strings.Count(out.String(), "alone, at guest-"); n != 4 {
				t.Errorf("%d pauses shown inside starlark code, want 4", n)
			}
			if !strings.Contains(out.String(), "in run") {
				t.Error("no paused call stack shows run")
			}
		})
	}
}
