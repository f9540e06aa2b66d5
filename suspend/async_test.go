//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package suspend_test

import (
	"context"
	"errors"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/testchild"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// pipeReader is an attached thread that reads messages from a pipe with
// safepoint.Read, one at a time, and reports each.
type pipeReader struct {
	th      *suspend.Thread
	r, w    int
	got     chan string
	lastErr error         // the error that ended the reads, before got says so
	done    chan struct{} // closed once the reader has detached
}

func startPipeReader(t *testing.T, w *suspend.World, name string) *pipeReader {
	t.Helper()
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	pr := &pipeReader{r: p[0], w: p[1], got: make(chan string, 1), done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(pr.done)
		th, err := w.Attach(name)
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		pr.th = th
		close(ready)
		buf := make([]byte, 64)
		for {
			n, err := safepoint.Read(th, pr.r, buf)
			if err != nil || n == 0 {
				pr.lastErr = err
				pr.got <- "error: " + errString(err)
				break
			}
			pr.got <- string(buf[:n])
			if string(buf[:n]) == "quit" {
				break
			}
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	<-ready
	if pr.th == nil {
		t.FailNow()
	}
	return pr
}

func errString(err error) string {
	if err == nil {
		return "EOF"
	}
	return err.Error()
}

func (pr *pipeReader) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := syscall.Write(pr.w, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-pr.got:
		if got != msg {
			t.Fatalf("%s read %q, want %q", pr.th.Name(), got, msg)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not read %q", pr.th.Name(), msg)
	}
}

// close makes the reader quit and waits until it has detached.
func (pr *pipeReader) close(t *testing.T) {
	pr.send(t, "quit")
	<-pr.done
	for _, fd := range []int{pr.r, pr.w} {
		if err := syscall.Close(fd); err != nil {
			t.Error(err)
		}
	}
}

// TestAsyncStopInWrappedRead: under hybrid and preemptive, a thread blocked
// in a wrapped read is suspended in the kernel (BLOCKING_ASYNC_SUSPENDED),
// Threads() says where, Restart releases it, and the read returns the
// right data afterwards; under coop it counts as stopped in its region.
func TestAsyncStopInWrappedRead(t *testing.T) {
	cycles := 200
	if testing.Short() {
		cycles = 40
	}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeak(t)
			w := newWorld(t, suspend.WithPolicy(p))
			readers := []*pipeReader{startPipeReader(t, w, "reader-0"), startPipeReader(t, w, "reader-1")}
			ps := startPollers(t, w, 2)
			defer ps.stop()
			async := 0
			for c := 0; c < cycles; c++ {
				for _, pr := range readers {
					waitBlocking(t, pr.th)
				}
				s := stopWorld(t, w)
				for _, info := range s.Threads() {
					if !strings.HasPrefix(info.Name, "reader") {
						continue
					}
					switch {
					case info.Async:
						async++
						if p == suspend.Coop {
							t.Fatalf("coop suspended %s asynchronously", info.Name)
						}
						if info.Word.State() != threadstate.BlockingAsyncSuspended || info.Context == nil ||
							!asyncsuspend.InKernelEntry(info.Context.PC) {
							t.Fatalf("%s: %+v", info.Name, info)
						}
						if !strings.Contains(info.Where, "startPipeReader") {
							t.Fatalf("%s is %q, want the reader's function named", info.Name, info.Where)
						}
					case info.InSafeRegion:
					default:
						t.Fatalf("%s is %v after Stop", info.Name, info.Word)
					}
				}
				if c == 0 {
					t.Logf("dump while stopped:\n%s", dump(w))
				}
				if err := s.Restart(); err != nil {
					t.Fatal(err)
				}
				if c%10 == 0 {
					for _, pr := range readers {
						pr.send(t, "m"+strconv.Itoa(c))
					}
				}
			}
			for _, pr := range readers {
				pr.close(t)
			}
			t.Logf("%v: %d of %d reader stops were asynchronous", p, async, 2*cycles)
			if p != suspend.Coop && async < cycles {
				t.Errorf("only %d of %d stops of readers blocked in read were asynchronous", async, 2*cycles)
			}
		})
	}
}

// TestSuspendThreadInWrappedRead: a single-thread suspend of a reader under
// hybrid parks it in the kernel; ResumeThread releases it.
func TestSuspendThreadInWrappedRead(t *testing.T) {
	w := newWorld(t, suspend.WithPolicy(suspend.Hybrid))
	pr := startPipeReader(t, w, "reader")
	// In its read: in its region but not yet in the wrapper, a suspend
	// counts it as stopped there (BLOCKING_SUSPEND_REQUESTED).
	waitInWrapper(t, w, pr.th)
	ctx := context.Background()
	if err := w.SuspendThread(ctx, pr.th); err != nil {
		t.Fatal(err)
	}
	if st := pr.th.Word().State(); st != threadstate.BlockingAsyncSuspended {
		t.Errorf("suspended reader is %v", pr.th.Word())
	}
	if err := w.ResumeThread(pr.th); err != nil {
		t.Fatal(err)
	}
	pr.send(t, "after")
	pr.close(t)
}

// TestInterruptWrappedRead: Interrupt ends a wrapped read with
// ErrInterrupted (which is also EINTR); under coop it is an error.
func TestInterruptWrappedRead(t *testing.T) {
	w := newWorld(t, suspend.WithPolicy(suspend.Hybrid))
	pr := startPipeReader(t, w, "reader")
	waitBlocking(t, pr.th)
	deadline := time.After(20 * time.Second)
	for {
		// A retry may come after the interrupted read returned and
		// the reader detached: its answer is then waiting in pr.got.
		if err := w.Interrupt(pr.th); err != nil && !errors.Is(err, suspend.ErrDetached) {
			t.Fatal(err)
		}
		select {
		case got := <-pr.got:
			want := "error: " + safepoint.ErrInterrupted.Error()
			if got != want {
				t.Fatalf("interrupted read: %q, want %q", got, want)
			}
			if !errors.Is(pr.lastErr, safepoint.ErrInterrupted) || !errors.Is(pr.lastErr, syscall.EINTR) {
				t.Errorf("the read's error %v is not ErrInterrupted and EINTR", pr.lastErr)
			}
			if err := syscall.Close(pr.r); err != nil {
				t.Error(err)
			}
			if err := syscall.Close(pr.w); err != nil {
				t.Error(err)
			}
			waitUntil(t, "the reader detaches", func() bool { return pr.th.Word().State() == threadstate.Detached })
			if err := w.Interrupt(pr.th); !errors.Is(err, suspend.ErrDetached) {
				t.Errorf("Interrupt of a detached thread: %v", err)
			}
			coop := newWorld(t, suspend.WithPolicy(suspend.Coop))
			cr := startPipeReader(t, coop, "coop-reader")
			if err := coop.Interrupt(cr.th); err == nil || !strings.Contains(err.Error(), "coop") {
				t.Errorf("Interrupt under coop: %v", err)
			}
			cr.close(t)
			return
		case <-time.After(time.Millisecond):
		case <-deadline:
			t.Fatal("Interrupt did not end the read")
		}
	}
}

// TestHandlerReplacedIsAnError: after signal.Ignore replaces the handler,
// Stop returns an error that says so, at once, and changes nothing. It
// runs in a child process: a world's handler stays installed for the life
// of the process, and after signal.Ignore every later world on the signal
// would find it replaced.
func TestHandlerReplacedIsAnError(t *testing.T) {
	testchild.Run(t, func(t *testing.T) {
		const sig = syscall.Signal(43)
		w := newWorld(t, suspend.WithPolicy(suspend.Hybrid), suspend.WithSignal(sig))
		if err := w.CheckSignals(); err != nil {
			t.Fatal(err)
		}
		pr := startPipeReader(t, w, "reader")
		waitBlocking(t, pr.th)
		signal.Ignore(sig)
		_, err := w.Stop(context.Background())
		if !errors.Is(err, arch.ErrHandlerReplaced) {
			t.Fatalf("Stop after signal.Ignore: %v, want ErrHandlerReplaced", err)
		}
		t.Log(err)
		if st := pr.th.Word().State(); st != threadstate.Blocking {
			t.Errorf("a refused Stop changed the reader to %v", pr.th.Word())
		}
		pr.send(t, "still reads")
		pr.close(t)
	})
}

func TestBadSignalIsAnError(t *testing.T) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Hybrid), suspend.WithSignal(syscall.SIGSEGV))
	if err == nil || w != nil || !strings.Contains(err.Error(), "signal 11") {
		t.Errorf("NewWorld on SIGSEGV: %v, %v", w, err)
	}
}

// TestGoCodeInSafeRegionIsNeverParked: a thread spinning in Go code inside
// a blocking region is declined by the handler under hybrid and
// preemptive, and counts as stopped in its region, never parked.
func TestGoCodeInSafeRegionIsNeverParked(t *testing.T) {
	for _, p := range []suspend.Policy{suspend.Hybrid, suspend.Preemptive} {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p))
			var quit atomic.Bool
			done := make(chan struct{})
			ready := make(chan *suspend.Thread)
			go func() {
				defer close(done)
				th, err := w.Attach("spinner")
				if err != nil {
					t.Error(err)
					close(ready)
					return
				}
				ready <- th
				safepoint.Blocking(th, func() {
					for !quit.Load() {
						testenv.Preemptible() // Go code, but not a guest loop without calls
					}
				})
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
			}()
			th := <-ready
			if th == nil {
				t.FailNow()
			}
			waitBlocking(t, th)
			for i := 0; i < 100; i++ {
				s := stopWorld(t, w)
				info := s.Threads()[0]
				if info.Async || !info.InSafeRegion {
					t.Fatalf("stop %d: a spinner in Go code is %+v", i, info)
				}
				if err := s.Restart(); err != nil {
					t.Error(err)
				}
			}
			quit.Store(true)
			<-done
		})
	}
}
