//go:build linux

package asyncsuspend

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct user_regs_struct, pc then x1–x31.
const rawWords = 32

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link, uc_stack (40 bytes), uc_sigmask padded to 128 bytes,
// alignment to 16 (176).
const mcontextOffset = 176

// decode reads struct user_regs_struct: pc, then x1 (ra) to x31.
func decode(c *arch.Context, w *[rawWords]uintptr) {
	raw := (*[rawWords]uint64)(unsafe.Pointer(w))
	c.X = *raw
	c.X[0] = 0
	c.PC, c.LR, c.SP, c.FP = uintptr(raw[0]), uintptr(raw[1]), uintptr(raw[2]), uintptr(raw[8])
}

// The ECALL instruction, 0x00000073, little-endian.
var syscallInsnBytes = [4]byte{0x73, 0x00, 0x00, 0x00}

const (
	syscallInsnLen = 4
	insnAlign      = 2 // compressed instructions are 2 bytes long
)
