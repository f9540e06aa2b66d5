//go:build linux && !(386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package safepoint

import (
	"syscall"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
)

// kernelCall is the kernel entry call.enter makes. Without asynchronous
// suspension there is no special entry, and asyncsuspend.Syscall6 here is
// an ordinary function whose prologue may grow the stack after call.enter's
// conversions, so call the standard library's nosplit syscall.Syscall6
// directly (the record is unused).
//
//go:nosplit
func kernelCall(_ *asyncsuspend.Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno syscall.Errno) {
	return syscall.Syscall6(trap, a1, a2, a3, a4, a5, a6)
}
