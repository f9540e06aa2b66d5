//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package safepoint

import (
	"syscall"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
)

// kernelCall is the kernel entry call.enter makes: asyncsuspend.Syscall6,
// nosplit like kernelCall itself, so nothing between call.enter's
// conversions and entersyscall can move the stack.
//
//go:nosplit
func kernelCall(rec *asyncsuspend.Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno syscall.Errno) {
	return asyncsuspend.Syscall6(rec, trap, a1, a2, a3, a4, a5, a6)
}
