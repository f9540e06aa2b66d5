//go:build linux

package arch

// Context is the register set of a riscv64 thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP uintptr
	FP     uintptr // X8 (S0); Go keeps no frame pointer on riscv64
	LR     uintptr // X1 (RA)

	X [32]uint64 // X0–X31 (X0 is always zero, X27 is Go's g)
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
