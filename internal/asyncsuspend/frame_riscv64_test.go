//go:build linux

package asyncsuspend

import "unsafe"

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
		_  [17]uint64 // a1–a7, s2–s11
		t3 uint64
		_  [3]uint64 // t4–t6
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
		"UC_T3":     mc + unsafe.Offsetof(uc.uc_mcontext.t3),
		"RAW_WORDS": unsafe.Sizeof(uc.uc_mcontext) / 8,
	}
}
