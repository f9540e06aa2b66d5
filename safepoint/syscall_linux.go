package safepoint

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// ErrInterrupted is returned by a wrapped system call that World.Interrupt
// ended (Mono's abort_syscall). It wraps syscall.EINTR.
var ErrInterrupted = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string {
	return "safepoint: the system call was interrupted by World.Interrupt"
}
func (interruptedError) Is(target error) bool { return target == syscall.EINTR }

// Pointers on their way to the kernel.
//
// A wrapper's buffer or timespec may live on the calling goroutine's stack,
// and that stack moves: it grows (any split-checked call copies it to a
// larger one) and the collector shrinks it while the goroutine is parked.
// The runtime adjusts every pointer into the stack when it moves it, but
// not a uintptr. Between the wrapper's entry and the kernel entry there
// are calls that may do either (runtime.Callers, EnterSafe, which parks
// when a stop is pending, and on an unrequested EINTR the whole region
// again), so a uintptr taken before them may name the old, freed stack,
// and the kernel would read stale bytes from it or write into memory
// someone else now owns.
//
// Invariant: a pointer argument stays an unsafe.Pointer (in a call) until
// call.enter, which is nosplit, converts it and calls kernelCall, which is
// nosplit and calls the nosplit asyncsuspend.Syscall6 (or
// syscall.Syscall6), which calls entersyscall. Nothing on that path can
// grow the stack, and from entersyscall to exitsyscall the runtime does not
// shrink it (nor at an asynchronous preemption, the only other stop on the
// way). Each attempt of the retry loop converts anew. The call stays live
// (runtime.KeepAlive) until the kernel returns, so a heap buffer it points
// to cannot be freed during the call either.

// call is a system call's number and arguments: argument i is ptr[i] if
// that is not nil, else word[i].
type call struct {
	trap uintptr
	word [6]uintptr
	ptr  [6]unsafe.Pointer
}

// enter makes the system call. It is the only place where a pointer
// argument becomes a uintptr (see above): it must stay nosplit and call
// kernelCall (nosplit, asyncsuspend.Syscall6 or, where asynchronous
// suspension is unsupported, syscall.Syscall6) directly, with nothing in
// between that can move the stack.
//
//go:nosplit
func (c *call) enter(rec *asyncsuspend.Record) (r1, r2 uintptr, errno syscall.Errno) {
	// The conversions overwrite c.word in place (each attempt makes them
	// anew) rather than a copy: a copy's 48 bytes of frame put the
	// nosplit chain down to entersyscall over the linker's limit on
	// ppc64le.
	for i, p := range c.ptr {
		if p != nil {
			c.word[i] = uintptr(p)
		}
	}
	return kernelCall(rec, c.trap, c.word[0], c.word[1], c.word[2], c.word[3], c.word[4], c.word[5])
}

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
// syscall.Errno.
//
// A pointer argument must be converted to uintptr in the call expression
// itself, as in
//
//	safepoint.Syscall6(t, syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
//
// Syscall6 is marked go:uintptrescapes, so the compiler then moves the
// object to the heap (where it does not move) and keeps it alive until
// Syscall6 returns. Never hold a converted pointer in a uintptr variable
// and pass that: the object may stay on the stack, which can move while
// Syscall6 parks or grows it, and nothing keeps it alive. The wrappers
// below (Read, Write, Nanosleep, PollFds, Accept) need none of this and
// leave stack buffers on the stack.
//
//go:uintptrescapes
func Syscall6(t *suspend.Thread, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err error) {
	c := call{trap: trap, word: [6]uintptr{a1, a2, a3, a4, a5, a6}}
	return c.do(t, 3)
}

// do makes the call inside a blocking region, recording as the caller the
// frame skip levels up (runtime.Callers counting: 1 is do itself).
func (c *call) do(t *suspend.Thread, skip int) (r1, r2 uintptr, err error) {
	th := coreOf(t)
	rec := th.Rec
	if rec == nil {
		rec = asyncsuspend.Shared
	}
	var pcs [1]uintptr
	if runtime.Callers(skip, pcs[:]) == 1 {
		th.SyscallCaller.Store(pcs[0])
	}
	for {
		th.EnterSafe()
		if h := testHookBeforeEntry; h != nil {
			h()
		}
		r1, r2, errno := c.enter(rec)
		runtime.KeepAlive(c)
		th.ExitSafe()
		interrupted := th.Rec != nil && rec.TakeInterrupt()
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
//
// Use Read (and Write) for a descriptor in blocking mode, where the call
// really waits in the kernel and a hybrid or preemptive stop can suspend
// the thread there: a pipe, a terminal, a device, or a file opened with
// unix.Open without O_NONBLOCK. An *os.File's descriptor is f.Fd(), which
// switches the file to blocking mode for good (its deadlines stop
// working), and f must be kept alive while the call runs. A descriptor
// the Go runtime polls (a net.Conn's, an os.File's left in non-blocking
// mode, as SyscallConn's Control hands it over) returns EAGAIN instead of
// waiting: for those, keep the standard library's own call and bracket
// it with Blocking, as in
//
//	safepoint.Blocking(t, func() { n, err = conn.Read(buf) })
//
// which parks the goroutine in Go's network poller, holds no OS thread,
// and counts as stopped under every policy.
func Read(t *suspend.Thread, fd int, p []byte) (int, error) {
	return transfer(t, syscall.SYS_READ, fd, p)
}

// Write writes p to fd through Syscall6.
func Write(t *suspend.Thread, fd int, p []byte) (int, error) {
	return transfer(t, syscall.SYS_WRITE, fd, p)
}

// transfer is read or write; its caller's caller is the one recorded.
func transfer(t *suspend.Thread, trap uintptr, fd int, p []byte) (int, error) {
	c := call{trap: trap, word: [6]uintptr{uintptr(fd), 0, uintptr(len(p))}}
	if len(p) > 0 {
		c.ptr[1] = unsafe.Pointer(&p[0])
	}
	n, _, err := c.do(t, 4)
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
	c := call{trap: syscall.SYS_NANOSLEEP, ptr: [6]unsafe.Pointer{unsafe.Pointer(&ts), unsafe.Pointer(&ts)}}
	_, _, err := c.do(t, 3)
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
	c := call{trap: syscall.SYS_PPOLL, word: [6]uintptr{0, uintptr(len(fds)), 0, 0, 8}}
	if len(fds) > 0 {
		c.ptr[0] = unsafe.Pointer(&fds[0])
	}
	var ts syscall.Timespec
	if timeout >= 0 {
		ts = syscall.NsecToTimespec(int64(timeout))
		c.ptr[2] = unsafe.Pointer(&ts)
	}
	n, _, err := c.do(t, 3)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
