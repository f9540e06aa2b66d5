//go:build linux

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_loong64.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_PC"

// The kernel's ucontext and sigcontext on loong64 as Go's runtime
// declares them (runtime/defs_linux_loong64.go), with the fields nothing
// reads left blank: TestEntryDefines derives the handler's offsets from
// them.
type (
	sigcontextLOONG64 struct {
		sc_pc   uint64
		sc_regs [32]uint64
		_       [2]uint32 // sc_flags, sc_pad0
	}
	ucontextLOONG64 struct {
		_           uint64                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags (padded), ss_size
		_           [16]uint64                // uc_sigmask
		_           [8]byte                   // uc_pad_cgo_0: sigcontext is aligned to 16 bytes
		uc_mcontext sigcontextLOONG64
	}
)

// frameOffsets are the offsets entry_loong64.s defines, from the
// declarations above.
func frameOffsets() map[string]uintptr {
	var uc ucontextLOONG64
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_PC":     mc + unsafe.Offsetof(uc.uc_mcontext.sc_pc),
		"UC_A0":     mc + unsafe.Offsetof(uc.uc_mcontext.sc_regs) + 4*8,
		"UC_R10":    mc + unsafe.Offsetof(uc.uc_mcontext.sc_regs) + 10*8,
		"RAW_WORDS": (unsafe.Offsetof(uc.uc_mcontext.sc_regs) + unsafe.Sizeof(uc.uc_mcontext.sc_regs)) / 8,
	}
}
