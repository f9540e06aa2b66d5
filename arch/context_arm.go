//go:build linux && arm.7

package arch

// Context is the register set of an arm thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP uintptr
	FP     uintptr // R11, which Go uses as a temporary, not a frame pointer
	LR     uintptr // R14

	R    [13]uint32 // R0–R12 (R10 is Go's g, R11 the assembler's temporary)
	CPSR uint32
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
