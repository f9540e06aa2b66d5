//go:build linux

package arch

// Context is the register set of a s390x thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP uintptr // the PSW's address, R15
	FP     uintptr // always 0: Go keeps no frame pointer on s390x
	LR     uintptr // R14

	R       [16]uint64 // R0–R15 (R13 is Go's g)
	PSWMask uint64
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
