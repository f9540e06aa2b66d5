//go:build linux

package asyncsuspend

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's r8 … eflags (18 general registers).
const rawWords = 18

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext
// (uc_flags, uc_link, uc_stack come first); the handler copies from there.
const mcontextOffset = 40

// decode reads the registers in the order of the kernel's struct
// sigcontext: r8–r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags.
func decode(c *arch.Context, w *[rawWords]uintptr) {
	raw := (*[rawWords]uint64)(unsafe.Pointer(w))
	c.R8, c.R9, c.R10, c.R11 = raw[0], raw[1], raw[2], raw[3]
	c.R12, c.R13, c.R14, c.R15 = raw[4], raw[5], raw[6], raw[7]
	c.DI, c.SI = raw[8], raw[9]
	c.FP = uintptr(raw[10])
	c.BX, c.DX, c.AX, c.CX = raw[11], raw[12], raw[13], raw[14]
	c.SP, c.PC = uintptr(raw[15]), uintptr(raw[16])
	c.Flags = raw[17]
}

// The SYSCALL instruction, 0F 05.
var syscallInsnBytes = [2]byte{0x0f, 0x05}

const (
	syscallInsnLen = 2
	insnAlign      = 1
)
