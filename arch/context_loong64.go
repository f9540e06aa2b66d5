//go:build linux

package arch

// Context is the register set of a loong64 thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP uintptr
	FP     uintptr // R22, which is Go's g: Go keeps no frame pointer on loong64
	LR     uintptr // R1

	R [32]uint64 // R0–R31 (R0 is always zero)
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
