//go:build linux

package arch

// Context is the register set of an arm64 thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP uintptr
	FP     uintptr // R29
	LR     uintptr // R30

	R      [29]uint64 // R0–R28 (R28 is Go's g)
	PState uint64
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
