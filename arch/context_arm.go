//go:build linux && arm.7

package arch

// Context is the register set of an arm thread.
type Context struct {
	PC, SP uintptr
	FP     uintptr // R11, which Go uses as a temporary, not a frame pointer
	LR     uintptr // R14

	R    [13]uint32 // R0–R12 (R10 is Go's g, R11 the assembler's temporary)
	CPSR uint32
}

// rawWords is how many words of the kernel's signal frame the handler
// copies: struct sigcontext's arm_r0 … arm_cpsr.
const rawWords = 17

// mcontextOffset is the offset of uc_mcontext in the kernel's ucontext:
// uc_flags, uc_link and uc_stack (three words) come first.
const mcontextOffset = 20

// decode reads struct sigcontext from arm_r0: r0–r10, fp, ip, sp, lr, pc,
// cpsr.
func (c *Context) decode(raw *[rawWords]uintptr) {
	for i := range c.R {
		c.R[i] = uint32(raw[i])
	}
	c.FP, c.SP, c.LR, c.PC = raw[11], raw[13], raw[14], raw[15]
	c.CPSR = uint32(raw[16])
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)

// The SWI $0 (SVC #0) instruction, 0xef000000, little-endian: Go's code
// is in the ARM instruction set, never Thumb.
var syscallInsnBytes = [4]byte{0x00, 0x00, 0x00, 0xef}

const (
	syscallInsnLen = 4
	insnAlign      = 4
)
