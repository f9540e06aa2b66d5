//go:build linux

package arch

import (
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_amd64.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 8}, "FP": {unsafe.Offsetof(c.FP), 16},
		"LR": {unsafe.Offsetof(c.LR), 24}, "AX": {unsafe.Offsetof(c.AX), 32}, "BX": {unsafe.Offsetof(c.BX), 40},
		"CX": {unsafe.Offsetof(c.CX), 48}, "DX": {unsafe.Offsetof(c.DX), 56}, "SI": {unsafe.Offsetof(c.SI), 64},
		"DI": {unsafe.Offsetof(c.DI), 72}, "R8": {unsafe.Offsetof(c.R8), 80}, "R15": {unsafe.Offsetof(c.R15), 136},
		"Flags": {unsafe.Offsetof(c.Flags), 144},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}
