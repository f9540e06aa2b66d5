//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package arch

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// captureHere captures its context and, before anything can move the
// goroutine's stack, the address of one of its locals.
//
//go:noinline
func captureHere(c *Context) (local uintptr) {
	var x int
	Capture(c)
	return uintptr(unsafe.Pointer(&x))
}

func TestCapture(t *testing.T) {
	var c Context
	sp := captureHere(&c)
	fr := c.Where()
	if !strings.HasSuffix(fr.Function, "arch.captureHere") {
		t.Errorf("Capture's pc %#x is in %v, want captureHere", c.PC, fr)
	}
	if c.SP == 0 || c.SP > sp+4096 || c.SP+4096 < sp {
		t.Errorf("Capture's sp %#x is not in captureHere's frame (a local at %#x)", c.SP, sp)
	}
	// Go keeps frame pointers on amd64 and arm64 only; elsewhere FP is
	// whatever the register the C ABI names so holds.
	if c.FP == 0 && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		t.Error("Capture's frame pointer is 0")
	}
}
