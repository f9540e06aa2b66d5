//go:build linux

package arch

// Context is the register set of an amd64 thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP, FP uintptr // RIP, RSP, RBP
	LR         uintptr // always 0: amd64 keeps return addresses on the stack

	AX, BX, CX, DX, SI, DI uint64
	R8, R9, R10, R11       uint64
	R12, R13, R14, R15     uint64
	Flags                  uint64
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to and SP the caller's stack pointer after the return (Mono's
// MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
