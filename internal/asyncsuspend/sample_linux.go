//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/coopsuspend/coopsuspend/arch"
)

// SampleAfter is Sample with the signal delivered by the kernel after
// delay instead of at once.
//
// Why a delay: Sample's tgkill reaches the thread while the sampler runs.
// When the sampler and the sampled goroutine compete for the same P
// (GOMAXPROCS=1, or more runnable goroutines than Ps), the sampled
// goroutine is then descheduled, and the sample finds its thread asleep
// in Go's scheduler, not in the goroutine's code. SampleAfter arms a
// one-shot POSIX timer that signals that one thread (SIGEV_THREAD_ID)
// and waits for the answer the way Sample does, giving its P away while
// it waits (the first steps are runtime.Gosched, then a futex wait on the
// runtime's syscall path), so that the sampled goroutine can run again
// when the timer fires. Nothing guarantees that it does: the caller
// classifies the sample (Frame.Place) and tries again if it missed.
//
// Like Sample it returns ErrBusy at once while another request (a stop's
// park) holds the record.
func (r *Record) SampleAfter(sig syscall.Signal, delay time.Duration) (arch.Context, error) {
	if delay <= 0 {
		return r.Sample(sig)
	}
	if !r.busy.TryLock() {
		return arch.Context{}, ErrBusy
	}
	defer r.busy.Unlock()
	tm, err := newThreadTimer(r.Tid(), sig)
	if err != nil {
		return arch.Context{}, err
	}
	// Deleting the timer disarms it if the request was withdrawn; a
	// signal it already raised is harmless: it answers whatever request
	// is posted when it arrives, with the context of that moment.
	defer tm.delete()
	_, err = r.askBy(context.Background(), reqSample, sig, func() error { return tm.arm(delay) }, delay)
	return r.sampled(err)
}

// The kernel's struct sigevent (include/uapi/asm-generic/siginfo.h):
// sigev_value (a union of a pointer and an int, so a pointer's size),
// sigev_signo, sigev_notify, then a union padded to 64 bytes in all
// (SIGEV_MAX_SIZE) whose first member, for SIGEV_THREAD_ID, is the
// thread id.
// TestSigeventLayout checks the offsets; TestSampleAfter that the kernel
// delivers by them.
type sigevent struct {
	value  uintptr
	signo  int32
	notify int32
	tid    int32
	_      [64 - 12 - unsafe.Sizeof(uintptr(0))]byte
}

// sigevThreadID is SIGEV_THREAD_ID: signal the thread in the tid field.
const sigevThreadID = 4

// itimerspec is the kernel's struct itimerspec.
type itimerspec struct {
	interval, value unix.Timespec
}

const clockMonotonic = unix.CLOCK_MONOTONIC

// threadTimer is a POSIX timer that signals one thread of this process.
type threadTimer struct{ id int32 }

func newThreadTimer(tid int, sig syscall.Signal) (threadTimer, error) {
	ev := sigevent{signo: int32(sig), notify: sigevThreadID, tid: int32(tid)}
	var t threadTimer
	if _, _, e := unix.RawSyscall(unix.SYS_TIMER_CREATE, clockMonotonic,
		uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&t.id))); e != 0 {
		return threadTimer{}, fmt.Errorf("timer_create for tid %d: %w", tid, e)
	}
	return t, nil
}

// arm makes the timer fire once, after d.
func (t threadTimer) arm(d time.Duration) error {
	spec := itimerspec{value: unix.NsecToTimespec(int64(d))}
	if _, _, e := unix.RawSyscall6(unix.SYS_TIMER_SETTIME, uintptr(t.id), 0,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0); e != 0 {
		return fmt.Errorf("timer_settime: %w", e)
	}
	return nil
}

// delete deletes the timer. timer_delete fails only for an id that is not
// a timer of this process, and t's was made by newThreadTimer and is
// deleted once.
func (t threadTimer) delete() {
	_, _, _ = unix.RawSyscall(unix.SYS_TIMER_DELETE, uintptr(t.id), 0, 0)
}
