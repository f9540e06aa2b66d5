//go:build linux

package arch

import (
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_riscv64.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 8}, "FP": {unsafe.Offsetof(c.FP), 16},
		"LR": {unsafe.Offsetof(c.LR), 24}, "X": {unsafe.Offsetof(c.X), 32}, "size": {unsafe.Sizeof(c), 32 + 32*8},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}

// ucontextDefine names the offset entry_riscv64.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_REGS"

// The kernel's ucontext and sigcontext on riscv64 as Go's runtime
// declares them (runtime/defs_linux_riscv64.go), with the fields nothing
// reads left blank: TestEntryDefines derives the handler's offsets from
// them.
type (
	userRegsRISCV64 struct {
		pc uint64
		_  [9]uint64 // ra, sp, gp, tp, t0, t1, t2, s0, s1
		a0 uint64
		_  [21]uint64 // a1–a7, s2–s11, t3–t6
	}
	ucontextRISCV64 struct {
		_           uint64                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags (padded), ss_size
		_           [16]uint64                // uc_sigmask
		_           [8]byte                   // uc_pad_cgo_0: sigcontext is aligned to 16 bytes
		uc_mcontext userRegsRISCV64           // sigcontext's sc_regs
	}
)

// frameOffsets are the offsets entry_riscv64.s defines, from the
// declarations above.
func frameOffsets() map[string]uintptr {
	var uc ucontextRISCV64
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_REGS":   mc,
		"UC_PC":     mc + unsafe.Offsetof(uc.uc_mcontext.pc),
		"UC_A0":     mc + unsafe.Offsetof(uc.uc_mcontext.a0),
		"RAW_WORDS": unsafe.Sizeof(uc.uc_mcontext) / 8,
	}
}
