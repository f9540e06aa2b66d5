package loops

import (
	"testing"

	"example.com/loops/internal/testenv"
)

func TestSpins(t *testing.T) {
	for !quit.Load() { // want
		poll()
	}
}

func TestSpinsButSkips(t *testing.T) {
	testenv.NeedsAsyncPreemption(t, "spins on purpose")
	for !quit.Load() {
		poll()
	}
}
