//go:build linux

package arch

import (
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_386.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 4}, "FP": {unsafe.Offsetof(c.FP), 8},
		"LR": {unsafe.Offsetof(c.LR), 12}, "AX": {unsafe.Offsetof(c.AX), 16}, "BX": {unsafe.Offsetof(c.BX), 20},
		"CX": {unsafe.Offsetof(c.CX), 24}, "DX": {unsafe.Offsetof(c.DX), 28}, "SI": {unsafe.Offsetof(c.SI), 32},
		"DI": {unsafe.Offsetof(c.DI), 36}, "Flags": {unsafe.Offsetof(c.Flags), 40},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}
