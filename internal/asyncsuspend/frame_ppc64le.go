//go:build linux

package asyncsuspend

import (
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// rawWords is how many words of the kernel's signal frame the handler
// copies: gp_regs' gpr[32], nip, msr, orig_gpr3, ctr, link, xer, ccr.
const rawWords = 39

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link, uc_stack (40 bytes), uc_sigmask (8), 15 unused words.
const mcontextOffset = 168

// decode reads gp_regs: gpr0–31, nip, msr, orig_gpr3, ctr, link, xer,
// ccr.
func decode(c *arch.Context, w *[rawWords]uintptr) {
	raw := (*[rawWords]uint64)(unsafe.Pointer(w))
	copy(c.R[:], raw[:32])
	c.PC, c.SP, c.LR = uintptr(raw[32]), uintptr(raw[1]), uintptr(raw[36])
	c.CTR, c.XER, c.CR = raw[35], raw[37], raw[38]
}

// The SC (SYSCALL) instruction, 0x44000002, little-endian.
var syscallInsnBytes = [4]byte{0x02, 0x00, 0x00, 0x44}

const (
	syscallInsnLen = 4
	insnAlign      = 4
)
