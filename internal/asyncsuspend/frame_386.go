//go:build linux

package asyncsuspend

import "github.com/coopsuspend/coopsuspend/arch"

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's gs … ss (Go's sigcontext in
// runtime/defs_linux_386.go, each segment register padded to a word).
const rawWords = 19

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link and uc_stack (three words) come first.
const mcontextOffset = 20

// decode reads the registers in the order of the kernel's struct
// sigcontext: gs, fs, es, ds, edi, esi, ebp, esp, ebx, edx, ecx, eax,
// trapno, err, eip, cs, eflags, esp_at_signal, ss.
func decode(c *arch.Context, raw *[rawWords]uintptr) {
	c.DI, c.SI = uint32(raw[4]), uint32(raw[5])
	c.FP, c.SP = raw[6], raw[7]
	c.BX, c.DX, c.CX, c.AX = uint32(raw[8]), uint32(raw[9]), uint32(raw[10]), uint32(raw[11])
	c.PC = raw[14]
	c.Flags = uint32(raw[16])
}

// The INT $0x80 instruction, CD 80: Go's runtime enters the kernel so on
// 386 (INVOKE_SYSCALL in runtime/sys_linux_386.s).
var syscallInsnBytes = [2]byte{0xcd, 0x80}

const (
	syscallInsnLen = 2
	insnAlign      = 1
)
