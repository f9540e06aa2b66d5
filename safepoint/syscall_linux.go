package safepoint

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// ErrInterrupted is returned by a wrapped system call that World.Interrupt
// ended (Mono's abort_syscall). It wraps syscall.EINTR.
var ErrInterrupted = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string {
	return "coopsuspend: the system call was interrupted by World.Interrupt"
}
func (interruptedError) Is(target error) bool { return target == syscall.EINTR }

// testHookBeforeEntry, when set (by tests only, before any thread uses
// it), runs inside the blocking region just before each kernel entry: the
// stack-move tests grow the stack there.
var testHookBeforeEntry func()

// Syscall6 makes a system call inside a blocking region, through the one
// kernel entry whose instruction the signal handler recognises: under the
// hybrid and preemptive policies a stop suspends the thread right there,
// in the kernel, without waiting for the call to return. The thread holds
// no Go scheduler slot meanwhile (the call goes through the runtime's
// syscall path), which is what makes that sound.
//
// An EINTR that nobody asked for is retried, after parking if a stop is
// pending (the region is left and re-entered); one caused by
// World.Interrupt returns ErrInterrupted. Other failures return the
// syscall.Errno. Pointers passed as uintptr must be kept alive by the
// caller (runtime.KeepAlive) until Syscall6 returns.
func Syscall6(t *suspend.Thread, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err error) {
	return syscall6(t, 3, trap, a1, a2, a3, a4, a5, a6)
}

// syscall6 is Syscall6, recording as the caller the frame skip levels up
// (runtime.Callers counting).
func syscall6(t *suspend.Thread, skip int, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err error) {
	c := coreOf(t)
	rec := c.Rec
	if rec == nil {
		rec = arch.Shared
	}
	var pcs [1]uintptr
	if runtime.Callers(skip, pcs[:]) == 1 {
		c.SyscallCaller.Store(pcs[0])
	}
	for {
		c.EnterSafe()
		if h := testHookBeforeEntry; h != nil {
			h()
		}
		r1, r2, errno := arch.Syscall6(rec, trap, a1, a2, a3, a4, a5, a6)
		c.ExitSafe()
		interrupted := c.Rec != nil && rec.TakeInterrupt()
		switch {
		case errno == 0:
			return r1, r2, nil
		case errno == syscall.EINTR && interrupted:
			return r1, r2, ErrInterrupted
		case errno == syscall.EINTR:
			continue
		default:
			return r1, r2, errno
		}
	}
}

// Read reads from fd into p through Syscall6.
func Read(t *suspend.Thread, fd int, p []byte) (int, error) {
	return transfer(t, syscall.SYS_READ, fd, p)
}

// Write writes p to fd through Syscall6.
func Write(t *suspend.Thread, fd int, p []byte) (int, error) {
	return transfer(t, syscall.SYS_WRITE, fd, p)
}

// transfer is read or write; its caller's caller is the one recorded.
func transfer(t *suspend.Thread, trap uintptr, fd int, p []byte) (int, error) {
	n, _, err := syscall6(t, 4, trap, uintptr(fd), bufPtr(p), uintptr(len(p)), 0, 0, 0)
	runtime.KeepAlive(p)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// Nanosleep sleeps for d through Syscall6. The kernel writes the time
// left into the request when a signal interrupts the sleep, so the retry
// after an unrequested interruption sleeps only the rest.
func Nanosleep(t *suspend.Thread, d time.Duration) error {
	ts := syscall.NsecToTimespec(int64(d))
	_, _, err := syscall6(t, 3, syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0, 0, 0, 0)
	runtime.KeepAlive(&ts)
	return err
}

// PollFd is one descriptor for PollFds: struct pollfd.
type PollFd struct {
	Fd      int32
	Events  int16
	Revents int16
}

// PollFds waits, through Syscall6, until one of fds is ready or timeout
// passes (negative: no limit), and returns how many are ready (ppoll).
func PollFds(t *suspend.Thread, fds []PollFd, timeout time.Duration) (int, error) {
	var tsp uintptr
	var ts syscall.Timespec
	if timeout >= 0 {
		ts = syscall.NsecToTimespec(int64(timeout))
		tsp = uintptr(unsafe.Pointer(&ts))
	}
	var p uintptr
	if len(fds) > 0 {
		p = uintptr(unsafe.Pointer(&fds[0]))
	}
	n, _, err := syscall6(t, 3, syscall.SYS_PPOLL, p, uintptr(len(fds)), tsp, 0, 8, 0)
	runtime.KeepAlive(fds)
	runtime.KeepAlive(&ts)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

func bufPtr(p []byte) uintptr {
	if len(p) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&p[0]))
}
