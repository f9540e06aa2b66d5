//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	futexWaitPrivate = 128
	futexWakePrivate = 129
)

// futexWait sleeps while *addr == val, at most d, through the runtime's
// syscall path (the caller gives up its P meanwhile). Its errors are not
// failures: ETIMEDOUT, EAGAIN (the word changed first) and EINTR all
// mean "look at the word again", which every caller does in a loop.
func futexWait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitPrivate, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes every waiter on addr. FUTEX_WAKE fails only for an
// invalid address, and addr is a live Go pointer.
func futexWake(addr *uint32) {
	_, _, _ = unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakePrivate, 1<<30, 0, 0, 0)
}

//go:linkname entersyscall runtime.entersyscall
func entersyscall()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// Syscall6 makes a system call through kernelEntry, the one entry whose
// system-call instruction the handler recognises, on the runtime's
// syscall path: between entersyscall and exitsyscall the thread holds no
// P, which is what makes parking it in the handler sound. r is the
// calling thread's record.
//
// Like syscall.Syscall6 it must not grow the stack between entersyscall
// and exitsyscall, hence nosplit and an assembly call. Unlike it, the
// compiler neither keeps alive nor moves to the heap what a pointer
// converted to uintptr in the arguments points to. A caller passing a
// pointer must therefore:
//
//   - convert it to uintptr only in a nosplit function that then calls
//     Syscall6 directly, with nothing in between that can grow the stack
//     or park: if the object is on the goroutine's stack, a stack move
//     (growth, or the collector shrinking the stack of a parked goroutine)
//     leaves the uintptr naming the old, freed stack, and the kernel reads
//     and writes there. Until then it stays an unsafe.Pointer, which the
//     runtime adjusts when the stack moves. safepoint's wrappers do this
//     (call.enter), anew on every retry;
//   - keep the object alive (runtime.KeepAlive) until Syscall6 returns.
//
//go:nosplit
func Syscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno syscall.Errno) {
	entersyscall()
	r1, r2, errno = rawSyscall6(r, trap, a1, a2, a3, a4, a5, a6)
	exitsyscall()
	return
}

// rawSyscall6 is assembly: it calls kernelEntry with the record in a
// register the kernel preserves.
//
//go:noescape
func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno syscall.Errno)
