//go:build amd64 || 386 || arm64 || arm || riscv64 || loong64 || ppc64le || ppc64 || s390x

package goid

// G returns a token for the calling goroutine: the address of its
// descriptor in Go's runtime, read from the register (or thread-local
// slot) where the runtime keeps it, in a nanosecond. Two calls on one
// goroutine return the same token, and goroutines alive at the same time
// have different ones; the runtime recycles the descriptor of a goroutine
// that has ended, so a new goroutine may get an old token. It is for the
// checks on hot paths that Current (a stack trace) would slow: whether a
// caller is the goroutine that holds a stop.
func G() uintptr
