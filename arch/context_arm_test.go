//go:build linux && arm.7

package arch

import (
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_arm.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 4}, "FP": {unsafe.Offsetof(c.FP), 8},
		"LR": {unsafe.Offsetof(c.LR), 12}, "R": {unsafe.Offsetof(c.R), 16}, "CPSR": {unsafe.Offsetof(c.CPSR), 68},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}
