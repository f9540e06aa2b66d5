//go:build linux

package arch

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_arm64.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 8}, "FP": {unsafe.Offsetof(c.FP), 16},
		"LR": {unsafe.Offsetof(c.LR), 24}, "R": {unsafe.Offsetof(c.R), 32}, "PState": {unsafe.Offsetof(c.PState), 264},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}

// TestUcontextOffset checks the signal frame offset the handler copies
// from against the Go side's.
func TestUcontextOffset(t *testing.T) {
	src, err := os.ReadFile("entry_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define UC_REGS\s+(\d+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("entry_arm64.s does not define UC_REGS")
	}
	if got, _ := strconv.Atoi(string(m[1])); got != mcontextOffset {
		t.Errorf("entry_arm64.s copies from offset %d of the ucontext, the Go side says %d", got, mcontextOffset)
	}
}
