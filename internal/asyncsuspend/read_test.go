//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"golang.org/x/sys/unix"
)

// blockedReader is a locked goroutine blocked in a wrapped read of a pipe.
type blockedReader struct {
	rec    *Record
	r, w   int
	result chan string
	// local is the address of a local of the reader's frame, taken just
	// before its read: the goroutine's stack cannot move while it is in
	// the system call.
	local uintptr
}

func startReader(t testing.TB) *blockedReader {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	br := &blockedReader{r: p[0], w: p[1], result: make(chan string, 1)}
	ready := make(chan *Record)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		rec, err := Register(goid.Current())
		if err != nil {
			t.Error(err)
			ready <- nil
			return
		}
		defer rec.Unregister()
		var marker int
		br.local = uintptr(unsafe.Pointer(&marker))
		ready <- rec
		buf := make([]byte, 64)
		for {
			n, _, e := Syscall6(rec, unix.SYS_READ, uintptr(br.r), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				br.result <- "error: " + e.Error()
				return
			}
			br.result <- string(buf[:n])
			return
		}
	}()
	br.rec = <-ready
	if br.rec == nil {
		t.FailNow()
	}
	return br
}

func (br *blockedReader) finish(t testing.TB, msg string) string {
	t.Helper()
	if _, err := unix.Write(br.w, []byte(msg)); err != nil {
		// The reader would wait forever: give up on it.
		t.Fatalf("writing to the reader's pipe: %v", err)
	}
	var got string
	select {
	case got = <-br.result:
	case <-time.After(30 * time.Second):
		t.Fatal("the reader's read did not return within 30 s of its data (is it still parked?)")
	}
	for _, fd := range []int{br.r, br.w} {
		if err := unix.Close(fd); err != nil {
			t.Errorf("closing the reader's pipe: %v", err)
		}
	}
	return got
}

// TestSuspendInRead parks a thread blocked in a wrapped read, through
// SIGURG and through a real-time signal installed beside it.
func TestSuspendInRead(t *testing.T) {
	const rt = syscall.Signal(41)
	for _, sig := range []syscall.Signal{arch.DefaultSignal, rt} {
		if err := Install(sig); err != nil {
			t.Fatal(err)
		}
		defer Uninstall(sig)
	}
	br := startReader(t)
	parks := 0
	for i := 0; i < 200; i++ {
		sig := []syscall.Signal{arch.DefaultSignal, rt}[i%2]
		parked, err := br.rec.SuspendAsync(context.Background(), sig)
		if err != nil {
			t.Fatal(err)
		}
		if parked {
			parks++
			c, ok := br.rec.Context()
			if !ok {
				t.Fatal("a parked thread has no context")
			}
			if !InKernelEntry(c.PC) {
				t.Fatalf("parked at %v, not at the kernel entry %#x", c.Where(), SyscallPC())
			}
			if c.SP > br.local || br.local-c.SP > 16<<10 {
				t.Fatalf("parked with sp %#x, not just below the reader's frame (a local at %#x)", c.SP, br.local)
			}
			br.rec.ResumeAsync()
		}
	}
	if got := br.finish(t, "hello"); got != "hello" {
		t.Fatalf("read returned %q", got)
	}
	if parks < 150 {
		t.Fatalf("only %d of 200 requests parked the reader", parks)
	}
	t.Logf("%d of 200 requests parked the reader", parks)
}

func unsafePointer(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

// TestFailedSend: when the signal cannot be sent (tgkill fails: the
// thread has exited, or the signal is invalid), SuspendAsync returns the
// error and leaves the record as it found it: no request posted, no
// buffer held, the next request served. When the send fails after a
// signal still pending from an earlier request has reached the thread
// and its handler took the new request, the handler's answer stands: the
// thread is parked and SuspendAsync must say so, or nobody would ever
// release it.
func TestFailedSend(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	br := startReader(t)
	rec := br.rec
	sendErr := unix.ESRCH

	// Not sent at all.
	parked, err := rec.suspendBy(context.Background(), arch.DefaultSignal, func() error { return sendErr })
	if parked || err != sendErr {
		t.Fatalf("a send that failed: parked %v, error %v; want false, %v", parked, err, sendErr)
	}
	if req := atomic.LoadUint32(&rec.request); req != reqNone {
		t.Fatalf("the request was left posted (%d)", req)
	}
	if rec.buf.Load() != nil {
		t.Fatal("the register buffer was left attached")
	}
	if _, ok := rec.Context(); ok {
		t.Fatal("a thread that was never parked has a context")
	}

	// Sent by a signal the failing send stands in for, and taken by
	// its handler before the send reports the failure. The handler
	// declines until the reader is at its system call: try again then.
	parked, err = false, nil
	for i := 0; i < 1000 && err == nil && !parked; i++ {
		runtime.Gosched()
		parked, err = rec.suspendBy(context.Background(), arch.DefaultSignal, func() error {
			if err := Tgkill(rec.Tid(), arch.DefaultSignal); err != nil {
				t.Errorf("the signal standing in for a pending one: %v", err)
				return err
			}
			for atomic.LoadUint32(&rec.ack) == ackNone {
				runtime.Gosched()
			}
			return sendErr
		})
	}
	if err != nil || !parked {
		ack := atomic.LoadUint32(&rec.ack)
		if ack == ackParked {
			// Release the thread the record forgot, so the
			// reader can finish.
			atomic.StoreUint32(&rec.release, 1)
			futexWake(&rec.release)
		}
		t.Fatalf("the handler took the request and answered %d (parked is %d), but SuspendAsync said parked %v, error %v",
			ack, ackParked, parked, err)
	}
	if _, ok := rec.Context(); !ok {
		t.Fatal("a parked thread has no context")
	}
	rec.ResumeAsync()

	// The record serves the next request.
	if parked, err := rec.SuspendAsync(context.Background(), arch.DefaultSignal); err != nil {
		t.Fatal(err)
	} else if parked {
		rec.ResumeAsync()
	}
	if got := br.finish(t, "after"); got != "after" {
		t.Fatalf("read returned %q", got)
	}
}
