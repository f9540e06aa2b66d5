//go:build !linux

package testchild

import (
	"runtime"
	"testing"
)

// RunInNewPIDNamespace skips t: PID namespaces are Linux's.
func RunInNewPIDNamespace(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	t.Skipf("PID namespaces are Linux's, not %s's", runtime.GOOS)
}
