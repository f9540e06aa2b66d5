//go:build linux

package asyncsuspend

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's psw_mask, psw_addr and gregs[16].
const rawWords = 18

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link, uc_stack (40 bytes) come first.
const mcontextOffset = 40

// decode reads struct sigcontext: psw_mask, psw_addr, r0–r15.
func decode(c *arch.Context, w *[rawWords]uintptr) {
	raw := (*[rawWords]uint64)(unsafe.Pointer(w))
	copy(c.R[:], raw[2:])
	c.PSWMask = raw[0]
	c.PC, c.SP, c.LR = uintptr(raw[1]), uintptr(c.R[15]), uintptr(c.R[14])
}

// The SVC 0 instruction (Go's SYSCALL; the number is in R1), 0x0a00.
var syscallInsnBytes = [2]byte{0x0a, 0x00}

const (
	syscallInsnLen = 2
	insnAlign      = 2
)
