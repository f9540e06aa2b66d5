//go:build linux

package arch

import (
	"testing"
	"unsafe"
)

// TestContextLayout checks the offsets capture_amd64.s writes.
func TestContextLayout(t *testing.T) {
	var c Context
	for name, got := range map[string][2]uintptr{
		"PC": {unsafe.Offsetof(c.PC), 0}, "SP": {unsafe.Offsetof(c.SP), 8}, "FP": {unsafe.Offsetof(c.FP), 16},
		"LR": {unsafe.Offsetof(c.LR), 24}, "AX": {unsafe.Offsetof(c.AX), 32}, "BX": {unsafe.Offsetof(c.BX), 40},
		"CX": {unsafe.Offsetof(c.CX), 48}, "DX": {unsafe.Offsetof(c.DX), 56}, "SI": {unsafe.Offsetof(c.SI), 64},
		"DI": {unsafe.Offsetof(c.DI), 72}, "R8": {unsafe.Offsetof(c.R8), 80}, "R15": {unsafe.Offsetof(c.R15), 136},
		"Flags": {unsafe.Offsetof(c.Flags), 144},
	} {
		if got[0] != got[1] {
			t.Errorf("Context.%s at %d, the assembly writes %d", name, got[0], got[1])
		}
	}
}

// ucontextDefine names the offset entry_amd64.s copies the signal frame
// from (TestUcontextOffset).
const ucontextDefine = "UC_MCONTEXT"

// The kernel's ucontext and sigcontext on amd64 as Go's runtime declares
// them (runtime/defs_linux_amd64.go), with the fields nothing reads left
// blank: TestSignalFrameOffsets derives the handler's offsets from them.
type (
	sigcontextAMD64 struct {
		_   [13]uint64 // r8–r15, rdi, rsi, rbp, rbx, rdx
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
		"UC_RIP":      mc + unsafe.Offsetof(uc.uc_mcontext.rip),
	}
}
