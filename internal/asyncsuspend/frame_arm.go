//go:build linux && arm.7

package asyncsuspend

import "github.com/coopsuspend/coopsuspend/arch"

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's arm_r0 … arm_cpsr.
const rawWords = 17

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link and uc_stack (three words) come first.
const mcontextOffset = 20

// decode reads struct sigcontext from arm_r0: r0–r10, fp, ip, sp, lr, pc,
// cpsr.
func decode(c *arch.Context, raw *[rawWords]uintptr) {
	for i := range c.R {
		c.R[i] = uint32(raw[i])
	}
	c.FP, c.SP, c.LR, c.PC = raw[11], raw[13], raw[14], raw[15]
	c.CPSR = uint32(raw[16])
}

// The SWI $0 (SVC #0) instruction, 0xef000000, little-endian: Go's code
// is in the ARM instruction set, never Thumb.
var syscallInsnBytes = [4]byte{0x00, 0x00, 0x00, 0xef}

const (
	syscallInsnLen = 4
	insnAlign      = 4
)
