package testenv

import (
	"os/exec"
	"testing"
)

// GoTool returns the path of the go command, for tests that compile a
// package to read the compiler's reports (inlining, escapes), or skips
// the test when there is none: a test binary cross-built and run under
// an emulator has no toolchain beside it.
func GoTool(t testing.TB) string {
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to compile with (cross-built test binary)")
	}
	return p
}
