//go:build linux

package arch

// Context is the register set of a 386 thread.
type Context struct {
	PC, SP, FP uintptr // EIP, ESP, EBP (Go keeps no frame pointer on 386)
	LR         uintptr // always 0: 386 keeps return addresses on the stack

	AX, BX, CX, DX, SI, DI uint32
	Flags                  uint32
}

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
func (c *Context) decode(raw *[rawWords]uintptr) {
	c.DI, c.SI = uint32(raw[4]), uint32(raw[5])
	c.FP, c.SP = raw[6], raw[7]
	c.BX, c.DX, c.CX, c.AX = uint32(raw[8]), uint32(raw[9]), uint32(raw[10]), uint32(raw[11])
	c.PC = raw[14]
	c.Flags = uint32(raw[16])
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to and SP the caller's stack pointer after the return (Mono's
// MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)

// The INT $0x80 instruction, CD 80: Go's runtime enters the kernel so on
// 386 (INVOKE_SYSCALL in runtime/sys_linux_386.s).
var syscallInsnBytes = [2]byte{0xcd, 0x80}

const (
	syscallInsnLen = 2
	insnAlign      = 1
)
