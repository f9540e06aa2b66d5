//go:build linux

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_s390x.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_MCONTEXT"

// The kernel's ucontext and sigcontext on s390x as Go's runtime declares
// them (runtime/defs_linux_s390x.go), with the fields nothing reads left
// blank: TestEntryDefines derives the handler's offsets from them.
type (
	sigcontextS390X struct {
		_        uint64 // psw_mask
		psw_addr uint64
		gregs    [16]uint64
	}
	ucontextS390X struct {
		_           uint64                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags (padded), ss_size
		uc_mcontext sigcontextS390X
	}
)

// frameOffsets are the offsets entry_s390x.s defines, from the
// declarations above.
func frameOffsets() map[string]uintptr {
	var uc ucontextS390X
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_MCONTEXT": mc,
		"UC_PSWADDR":  mc + unsafe.Offsetof(uc.uc_mcontext.psw_addr),
		"UC_R2":       mc + unsafe.Offsetof(uc.uc_mcontext.gregs) + 2*8,
		"UC_R9":       mc + unsafe.Offsetof(uc.uc_mcontext.gregs) + 9*8,
		"RAW_WORDS":   unsafe.Sizeof(uc.uc_mcontext) / 8,
	}
}
