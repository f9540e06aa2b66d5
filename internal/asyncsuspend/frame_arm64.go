//go:build linux

package asyncsuspend

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's regs[31], sp, pc, pstate.
const rawWords = 34

// mcontextOffset is the offset of uc_mcontext.regs in the kernel's
// ucontext: uc_flags, uc_link, uc_stack (24), uc_sigmask padded to 128
// bytes, alignment to 16 (176), then sigcontext's fault_address.
const mcontextOffset = 184

// decode reads struct sigcontext: regs[0..30], sp, pc, pstate.
func decode(c *arch.Context, w *[rawWords]uintptr) {
	raw := (*[rawWords]uint64)(unsafe.Pointer(w))
	copy(c.R[:], raw[:29])
	c.FP, c.LR = uintptr(raw[29]), uintptr(raw[30])
	c.SP, c.PC, c.PState = uintptr(raw[31]), uintptr(raw[32]), raw[33]
}

// The SVC #0 instruction, 0xd4000001, little-endian.
var syscallInsnBytes = [4]byte{0x01, 0x00, 0x00, 0xd4}

const (
	syscallInsnLen = 4
	insnAlign      = 4
)
