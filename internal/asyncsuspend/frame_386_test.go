//go:build linux

package asyncsuspend

import "unsafe"

// ucontextDefine names the offset entry_386.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_MCONTEXT"

// The kernel's ucontext and sigcontext on 386 as Go's runtime declares
// them (runtime/defs_linux_386.go), with the fields nothing reads left
// blank: TestEntryDefines derives the handler's offsets from them.
type (
	sigcontext386 struct {
		_   [4]uint32 // gs, fs, es, ds, each padded to a word
		_   [3]uint32 // edi, esi, ebp
		esp uint32
		_   [3]uint32 // ebx, edx, ecx
		eax uint32
		_   [2]uint32 // trapno, err
		eip uint32
		_   [3]uint32 // cs, eflags, esp_at_signal
		ss  uint32
		_   uintptr   // fpstate
		_   [2]uint32 // oldmask, cr2
	}
	ucontext386 struct {
		_           uint32                    // uc_flags
		_           uintptr                   // uc_link
		_           struct{ _, _, _ uintptr } // uc_stack: ss_sp, ss_flags, ss_size
		uc_mcontext sigcontext386
		_           uint32 // uc_sigmask
	}
)

// frameOffsets are the offsets entry_386.s defines, from the declarations
// above.
func frameOffsets() map[string]uintptr {
	var uc ucontext386
	mc := unsafe.Offsetof(uc.uc_mcontext)
	return map[string]uintptr{
		"UC_MCONTEXT": mc,
		"UC_EAX":      mc + unsafe.Offsetof(uc.uc_mcontext.eax),
		"UC_ESP":      mc + unsafe.Offsetof(uc.uc_mcontext.esp),
		"UC_EIP":      mc + unsafe.Offsetof(uc.uc_mcontext.eip),
		"RAW_WORDS":   (unsafe.Offsetof(uc.uc_mcontext.ss) + 4) / 4,
	}
}
