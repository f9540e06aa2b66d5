//go:build linux && !(386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Syscall6 makes the call through the standard entry: without the
// handler there is no kernel entry to recognise, and r is unused.
func Syscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno syscall.Errno) {
	return unix.Syscall6(trap, a1, a2, a3, a4, a5, a6)
}
