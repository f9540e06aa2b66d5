//go:build linux && arm.7

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_arm.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_MCONTEXT"

// The kernel's ucontext and sigcontext on arm as Go's runtime declares
// them (runtime/defs_linux_arm.go), with the fields nothing reads left
// blank: TestEntryDefines derives the handler's offsets from them.
type (
	sigcontextARM struct {
		_    [3]uint32 // trap_no, error_code, oldmask
		r0   uint32
		_    [7]uint32 // r1–r7
		r8   uint32
		_    [6]uint32 // r9, r10, fp, ip, sp, lr
		pc   uint32
		cpsr uint32
		_    uint32 // fault_address
	}
	ucontextARM struct {
		_           uint32                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags, ss_size
		uc_mcontext sigcontextARM
	}
)

// frameOffsets are the offsets entry_arm.s defines, from the declarations
// above.
func frameOffsets() map[string]uintptr {
	var uc ucontextARM
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_MCONTEXT": mc,
		"UC_R0":       mc + unsafe.Offsetof(uc.uc_mcontext.r0),
		"UC_R8":       mc + unsafe.Offsetof(uc.uc_mcontext.r8),
		"UC_PC":       mc + unsafe.Offsetof(uc.uc_mcontext.pc),
		"RAW_WORDS":   (unsafe.Offsetof(uc.uc_mcontext.cpsr)-unsafe.Offsetof(uc.uc_mcontext.r0))/4 + 1,
	}
}
