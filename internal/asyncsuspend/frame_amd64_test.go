//go:build linux

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_amd64.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_MCONTEXT"

// The kernel's ucontext and sigcontext on amd64 as Go's runtime declares
// them (runtime/defs_linux_amd64.go), with the fields nothing reads left
// blank: TestEntryDefines derives the handler's offsets from them.
type (
	sigcontextAMD64 struct {
		_   [4]uint64 // r8–r11
		r12 uint64
		_   [8]uint64 // r13–r15, rdi, rsi, rbp, rbx, rdx
		rax uint64
		_   [2]uint64 // rcx, rsp
		rip uint64
		_   uint64 // eflags
	}
	ucontextAMD64 struct {
		_           uint64                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags (padded), ss_size
		uc_mcontext sigcontextAMD64
	}
)

// frameOffsets are the offsets entry_amd64.s defines, from the
// declarations above.
func frameOffsets() map[string]uintptr {
	var uc ucontextAMD64
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_MCONTEXT": mc,
		"UC_RAX":      mc + unsafe.Offsetof(uc.uc_mcontext.rax),
		"UC_R12":      mc + unsafe.Offsetof(uc.uc_mcontext.r12),
		"UC_RIP":      mc + unsafe.Offsetof(uc.uc_mcontext.rip),
	}
}
