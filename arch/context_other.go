//go:build !linux || !(386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package arch

// Context is the part of the register set every platform has. Where
// asynchronous suspension is unsupported nothing fills it in: no thread is
// parked by a signal and none is sampled.
type Context struct {
	PC, SP, FP, LR uintptr
}

// Capture records what it can of the caller's registers: nothing on this
// platform, so c becomes the zero Context.
func Capture(c *Context) { *c = Context{} }

// Supported reports whether this platform has the signal handler that
// asynchronous suspension and the monitor's samples need: it does not.
func Supported() bool { return false }
