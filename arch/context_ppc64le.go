//go:build linux

package arch

// Context is the register set of a ppc64le thread: what the signal handler
// saved when it parked or sampled the thread, or what Capture took. PC, SP,
// FP and LR have the same names on every architecture; the comments say
// which register each is here. Where asynchronous suspension is not
// supported, Context has those four fields only.
type Context struct {
	PC, SP uintptr // NIP, R1
	FP     uintptr // always 0: ppc64 has no frame-pointer register
	LR     uintptr

	R            [32]uint64 // R0–R31 (R2 the TOC, R13 the thread pointer, R30 Go's g)
	CTR, XER, CR uint64
}

// Capture stores the caller's registers in c, with PC the address Capture
// returns to (Mono's MONO_CONTEXT_GET_CURRENT).
//
//go:noescape
func Capture(c *Context)
