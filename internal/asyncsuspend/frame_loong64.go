//go:build linux

package asyncsuspend

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's sc_pc and sc_regs[32].
const rawWords = 33

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link, uc_stack (40 bytes), uc_sigmask padded to 128 bytes,
// alignment to 16 (176).
const mcontextOffset = 176

// decode reads struct sigcontext: sc_pc, then r0–r31.
func decode(c *arch.Context, w *[rawWords]uintptr) {
	raw := (*[rawWords]uint64)(unsafe.Pointer(w))
	copy(c.R[:], raw[1:])
	c.PC, c.LR, c.SP, c.FP = uintptr(raw[0]), uintptr(c.R[1]), uintptr(c.R[3]), uintptr(c.R[22])
}

// The SYSCALL 0 instruction, 0x002b0000, little-endian.
var syscallInsnBytes = [4]byte{0x00, 0x00, 0x2b, 0x00}

const (
	syscallInsnLen = 4
	insnAlign      = 4
)
