//go:build linux

package arch

import (
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_s390x.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 8}, "FP": {unsafe.Offsetof(c.FP), 16},
		"LR": {unsafe.Offsetof(c.LR), 24}, "R": {unsafe.Offsetof(c.R), 32}, "PSWMask": {unsafe.Offsetof(c.PSWMask), 160},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}
