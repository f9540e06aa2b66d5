package testchild

import (
	"os"
	"testing"
)

// TestRunInNewPIDNamespace: the child is process 1 of its own namespace.
func TestRunInNewPIDNamespace(t *testing.T) {
	RunInNewPIDNamespace(t, func(t *testing.T) {
		if pid := os.Getpid(); pid != 1 {
			t.Fatalf("the child is process %d of its namespace, want 1", pid)
		}
	})
}
