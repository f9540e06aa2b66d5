//go:build linux

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_ppc64le.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_MCONTEXT"

// The kernel's ucontext and sigcontext on ppc64le as Go's runtime
// declares them (runtime/defs_linux_ppc64le.go), with the fields nothing
// reads left blank: TestEntryDefines derives the handler's offsets from
// them.
type (
	sigcontextPPC64LE struct {
		_       [4]uint64     // _unused
		_       [2]int32      // signal, _pad0
		_       [3]uint64     // handler, oldmask, regs
		gp_regs ptregsPPC64LE // [48]uint64 in Go's declaration: the kernel's pt_regs
	}
	ptregsPPC64LE struct {
		gpr [32]uint64
		nip uint64
		_   [5]uint64 // msr, orig_gpr3, ctr, link, xer
		ccr uint64
		_   [9]uint64 // softe … result, padding to 48 words
	}
	ucontextPPC64LE struct {
		_           uint64                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags (padded), ss_size
		_           uint64                    // uc_sigmask
		_           [15]uint64                // __unused
		uc_mcontext sigcontextPPC64LE
	}
)

// frameOffsets are the offsets entry_ppc64le.s defines, from the
// declarations above.
func frameOffsets() map[string]uintptr {
	var uc ucontextPPC64LE
	var regs ptregsPPC64LE
	mc := unsafe.Offsetof(uc.uc_mcontext)
	gprs := mc + unsafe.Offsetof(uc.uc_mcontext.gp_regs)
	return map[string]uintptr{
		"UC_MCONTEXT": mc,
		"UC_GPRS":     gprs,
		"UC_GPR3":     gprs + unsafe.Offsetof(regs.gpr) + 3*8,
		"UC_GPR14":    gprs + unsafe.Offsetof(regs.gpr) + 14*8,
		"UC_NIP":      gprs + unsafe.Offsetof(regs.nip),
		"RAW_WORDS":   (unsafe.Offsetof(regs.ccr) + 8) / 8,
	}
}
