//go:build linux

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_arm64.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_REGS"

// The kernel's ucontext and sigcontext on arm64 as Go's runtime declares
// them (runtime/defs_linux_arm64.go), with the fields nothing reads left
// blank: TestEntryDefines derives the handler's offsets from them.
type (
	sigcontextARM64 struct {
		_    uint64 // fault_address
		regs [31]uint64
		_    uint64 // sp
		pc   uint64
		_    uint64 // pstate
	}
	ucontextARM64 struct {
		_           uint64                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags (padded), ss_size
		_           uint64                    // uc_sigmask
		_           [(1024 - 64) / 8]byte     // the rest of the kernel's sigset_t
		_           [8]byte                   // sigcontext is aligned to 16 bytes
		uc_mcontext sigcontextARM64
	}
)

// frameOffsets are the offsets entry_arm64.s defines, from the
// declarations above.
func frameOffsets() map[string]uintptr {
	var uc ucontextARM64
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_REGS": mc + unsafe.Offsetof(uc.uc_mcontext.regs),
		"UC_R20":  mc + unsafe.Offsetof(uc.uc_mcontext.regs) + 20*unsafe.Sizeof(uc.uc_mcontext.regs[0]),
		"UC_PC":   mc + unsafe.Offsetof(uc.uc_mcontext.pc),
	}
}
