//go:build linux

package safepoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/testchild"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// The stack-move tests check the wrappers' memory safety: a buffer or a
// timespec on the caller's stack must be where the kernel reads and writes
// it, even when the goroutine's stack moves between the moment the wrapper
// takes the buffer's address and the kernel entry. A stack moves when it
// grows (any split-checked call: runtime.Callers, the state transitions,
// the test hook) and when the collector shrinks it (while the thread is
// parked in EnterSafe, say). A uintptr taken before the move still names
// the old stack, which the runtime has freed: the kernel would read stale
// bytes or write into memory someone else may own.
//
// A read into a stale address leaves the live buffer untouched, which the
// tests see. A stale read by the kernel (write, the timespecs, ppoll's
// descriptors) finds the old copy, identical until the memory is reused;
// the growth test therefore runs with GODEBUG=efence=1, under which the
// runtime unmaps every stack it frees, and any stale access by the kernel
// fails with EFAULT.

var stackPolicies = []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive}

// newStackWorld makes a world with policy p, or skips if this platform
// cannot run it.
func newStackWorld(t *testing.T, p suspend.Policy) *suspend.World {
	t.Helper()
	w, err := suspend.NewWorld(suspend.WithPolicy(p))
	if errors.Is(err, arch.ErrUnsupported) {
		t.Skipf("policy %v needs asynchronous suspension, which %s/%s lacks: %v", p, runtime.GOOS, runtime.GOARCH, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, w)
	return w
}

const padSize = 48

// descend recurses d frames of about padSize bytes each and runs f at the
// bottom, so that f's locals sit at a depth the caller chooses.
//
//go:noinline
func descend(d int, f func()) byte {
	var pad [padSize]byte
	pad[d%padSize] = byte(d)
	if d <= 0 {
		f()
		return pad[0]
	}
	return descend(d-1, f) + pad[(d*7)%padSize]
}

// burn uses about n bytes of stack, growing it if it is smaller.
//
//go:noinline
func burn(n int) byte {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n <= len(pad) {
		return pad[0]
	}
	return burn(n-len(pad)) + pad[n%7]
}

// pipe returns a pipe's two ends, closed when the test ends.
func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Close(p[0]); err != nil {
			t.Error(err)
		}
		if err := syscall.Close(p[1]); err != nil {
			t.Error(err)
		}
	})
	return p[0], p[1]
}

// stackOp is one wrapper call made with its buffers on the caller's
// stack. run makes the call at depth d (from inside descend) and returns
// a description of anything wrong; prepare and finish run off the thread,
// before and after.
type stackOp struct {
	name    string
	prepare func(d int) error
	run     func(th *suspend.Thread, d int) string
	finish  func(d int) string
}

func pattern(d int) [8]byte {
	var b [8]byte
	for i := range b {
		b[i] = byte(d*8 + i + 1)
	}
	return b
}

// stackOps returns read, Syscall6, write, ppoll and nanosleep, each on its
// own pipe.
func stackOps(t *testing.T) []stackOp {
	rr, rw := pipe(t)
	wr, ww := pipe(t)
	pr, pw := pipe(t)
	sr, sw := pipe(t)
	return []stackOp{{
		name: "Read",
		prepare: func(d int) error {
			want := pattern(d)
			_, err := syscall.Write(rw, want[:])
			return err
		},
		run: func(th *suspend.Thread, d int) string {
			var buf [8]byte
			n, err := Read(th, rr, buf[:])
			if want := pattern(d); err != nil || n != len(buf) || buf != want {
				return fmt.Sprintf("Read = %d, %v into %x, want 8 bytes %x", n, err, buf, want)
			}
			return ""
		},
	}, {
		// The exported wrapper, called as its documentation says: the
		// conversion in the call expression moves buf to the heap.
		name: "Syscall6",
		prepare: func(d int) error {
			want := pattern(d)
			_, err := syscall.Write(sw, want[:])
			return err
		},
		run: func(th *suspend.Thread, d int) string {
			var buf [8]byte
			n, _, err := Syscall6(th, syscall.SYS_READ, uintptr(sr), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
			if want := pattern(d); err != nil || n != uintptr(len(buf)) || buf != want {
				return fmt.Sprintf("Syscall6(SYS_READ) = %d, %v into %x, want 8 bytes %x", n, err, buf, want)
			}
			return ""
		},
	}, {
		name: "Write",
		run: func(th *suspend.Thread, d int) string {
			buf := pattern(d)
			if n, err := Write(th, ww, buf[:]); err != nil || n != len(buf) {
				return fmt.Sprintf("Write = %d, %v, want 8", n, err)
			}
			return ""
		},
		finish: func(d int) string {
			got := make([]byte, 9)
			n, err := syscall.Read(wr, got)
			if want := pattern(d); err != nil || n != 8 || string(got[:n]) != string(want[:]) {
				return fmt.Sprintf("the pipe holds %x (read %d, %v) after Write, want %x", got[:max(n, 0)], n, err, want)
			}
			return ""
		},
	}, {
		name: "PollFds",
		prepare: func(d int) error {
			_, err := syscall.Write(pw, []byte{1})
			return err
		},
		run: func(th *suspend.Thread, d int) string {
			fds := [2]PollFd{{Fd: int32(pr), Events: 1 /* POLLIN */}, {Fd: int32(pw), Events: 4 /* POLLOUT */}}
			n, err := PollFds(th, fds[:], time.Minute)
			if err != nil || n != 2 || fds[0].Revents&1 == 0 || fds[1].Revents&4 == 0 {
				return fmt.Sprintf("PollFds = %d, %v with revents %#x %#x, want 2 ready (POLLIN, POLLOUT)",
					n, err, fds[0].Revents, fds[1].Revents)
			}
			return ""
		},
		finish: func(d int) string {
			var b [1]byte
			if n, err := syscall.Read(pr, b[:]); err != nil || n != 1 {
				return fmt.Sprintf("draining the poll pipe: %d, %v", n, err)
			}
			return ""
		},
	}, {
		name: "Nanosleep",
		run: func(th *suspend.Thread, d int) string {
			if err := Nanosleep(th, time.Microsecond); err != nil {
				return fmt.Sprintf("Nanosleep(1µs) = %v", err)
			}
			return ""
		},
	}}
}

// grower is the test hook that moves the stack: it uses more stack than
// the goroutine has, so that the runtime copies the stack to a larger one
// and frees the old one.
//
// A wrapper that kept a stale address would then hand the kernel memory
// that was freed. The test runs in a child process with GODEBUG=efence=1,
// under which the runtime unmaps a freed stack (sysFault), so the kernel
// fails such an access with EFAULT instead of reading or writing whatever
// reused the memory. (An earlier version wrote a poison pattern over the
// freed stack itself: with the collector off, the runtime returns a freed
// large stack to the heap at once, and the poison corrupted heap objects
// under -race.)
type grower struct {
	growBy int // bytes of stack the hook uses
	moved  int // hooks that saw the stack move
}

func (g *grower) hook() {
	var probe byte
	before := uintptr(unsafe.Pointer(&probe))
	burn(g.growBy)
	if after := uintptr(unsafe.Pointer(&probe)); after != before {
		g.moved++
	}
}

// efence is the GODEBUG setting TestStackGrowthBeforeEntry's child runs
// with, beside the parent's own.
func efence() []string {
	v := "efence=1"
	if old := os.Getenv("GODEBUG"); old != "" {
		v = old + "," + v
	}
	return []string{"GODEBUG=" + v}
}

// setHook installs h for the rest of the test.
func setHook(t *testing.T, h func()) {
	testHookBeforeEntry = h
	t.Cleanup(func() { testHookBeforeEntry = nil })
}

// depths returns the depths to try.
func depths() []int {
	n, step := 300, 1
	if testing.Short() {
		step = 3
	}
	var ds []int
	for d := 0; d < n; d += step {
		ds = append(ds, d)
	}
	return ds
}

// TestStackGrowthBeforeEntry forces the stack to grow (and move) after
// each wrapper has taken its arguments' addresses and just before the
// kernel entry, in a child process whose freed stacks are unmapped
// (GODEBUG=efence=1): at every depth, under every policy, reads must land
// in the caller's buffer and writes, ppoll and nanosleep must see what the
// caller put on its stack, never the old stack's address.
func TestStackGrowthBeforeEntry(t *testing.T) {
	testchild.RunWithEnv(t, efence(), func(t *testing.T) {
		if !strings.Contains(os.Getenv("GODEBUG"), "efence=1") {
			t.Fatal("not running with GODEBUG=efence=1: a stale address would not fault")
		}
		t.Run("a stale address faults", staleAddressFaults)
		const preGrow = 96 << 10
		for _, p := range stackPolicies {
			t.Run(p.String(), func(t *testing.T) {
				w := newStackWorld(t, p)
				for _, op := range stackOps(t) {
					t.Run(op.name, func(t *testing.T) {
						g := &grower{growBy: 2 * (preGrow + 32<<10)}
						setHook(t, g.hook)
						var bad []string
						calls := 0
						for _, d := range depths() {
							if op.prepare != nil {
								if err := op.prepare(d); err != nil {
									t.Fatal(err)
								}
							}
							var msg string
							testutil.OnThread(t, w, "stackmove", func(th *suspend.Thread) {
								// Grow the stack in advance, so that nothing
								// moves it before the hook does.
								burn(preGrow)
								descend(d, func() { msg = op.run(th, d) })
							})
							calls++
							if msg == "" && op.finish != nil {
								msg = op.finish(d)
							}
							if msg != "" {
								bad = append(bad, fmt.Sprintf("depth %d: %s", d, msg))
							}
						}
						if g.moved < calls {
							t.Errorf("the hook moved the stack in %d of %d calls: the test proves little", g.moved, calls)
						}
						if len(bad) > 0 {
							t.Errorf("%d of %d depths went wrong under %v:\n%s", len(bad), calls, p, firstLines(bad, 10))
						}
					})
				}
			})
		}
	})
}

// staleAddressFaults shows that the test can fail: a read given the
// address of a buffer on a stack that has since moved gets EFAULT.
func staleAddressFaults(t *testing.T) {
	r, w := pipe(t)
	if _, err := syscall.Write(w, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var buf [8]byte
	stale := uintptr(unsafe.Pointer(&buf[0])) // the mistake the wrappers must not make
	g := &grower{growBy: 256 << 10}
	g.hook()
	if g.moved != 1 {
		t.Fatal("the stack did not move")
	}
	_, _, errno := syscall.Syscall(syscall.SYS_READ, uintptr(r), stale, uintptr(len(buf)))
	if errno != syscall.EFAULT {
		t.Fatalf("a read into the stack's old address returned errno %v, want EFAULT", errno)
	}
}

// TestStackGrowthNatural makes each call at a range of depths from a new
// goroutine, with no hook: at some depths the wrapper's own calls
// (runtime.Callers, the state transitions) cross the stack's end and move
// it, as in the original report. Only a stale kernel write shows without
// efence, so this checks the reads and PollFds.
func TestStackGrowthNatural(t *testing.T) {
	for _, p := range stackPolicies {
		t.Run(p.String(), func(t *testing.T) {
			w := newStackWorld(t, p)
			for _, op := range stackOps(t) {
				if op.name != "Read" && op.name != "Syscall6" && op.name != "PollFds" {
					continue
				}
				t.Run(op.name, func(t *testing.T) {
					var bad []string
					ds := depths()
					for _, d := range ds {
						if op.prepare != nil {
							if err := op.prepare(d); err != nil {
								t.Fatal(err)
							}
						}
						var msg string
						testutil.OnThread(t, w, "stackmove", func(th *suspend.Thread) {
							descend(d, func() { msg = op.run(th, d) })
						})
						if msg == "" && op.finish != nil {
							msg = op.finish(d)
						}
						if msg != "" {
							bad = append(bad, fmt.Sprintf("depth %d: %s", d, msg))
						}
					}
					if len(bad) > 0 {
						t.Errorf("%d of %d depths went wrong under %v:\n%s", len(bad), len(ds), p, firstLines(bad, 10))
					}
				})
			}
		})
	}
}

// TestStackShrinkWhileParked makes each call with a stop pending, so that
// the wrapper parks in EnterSafe, and runs the collector while it is
// parked: the collector shrinks the thread's large, mostly unused stack,
// moving it under the wrapper. Reads and ppoll's revents must land in the
// caller's buffers; the stale reads of write and nanosleep cannot be seen
// here without efence (the growth test covers them), but they run too.
func TestStackShrinkWhileParked(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "gcshrinkstackoff=1") {
		t.Skip("GODEBUG=gcshrinkstackoff=1: the collector does not shrink stacks")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, p := range stackPolicies {
		t.Run(p.String(), func(t *testing.T) {
			w := newStackWorld(t, p)
			for _, op := range stackOps(t) {
				t.Run(op.name, func(t *testing.T) {
					var bad []string
					calls, moved := 0, 0
					for i, d := range depths() {
						if testing.Short() && i%4 != 0 {
							continue
						}
						if op.prepare != nil {
							if err := op.prepare(d); err != nil {
								t.Fatal(err)
							}
						}
						var msg string
						var was, is uintptr
						requested := make(chan *suspend.Thread)
						stopped := make(chan error, 1)
						go func() {
							th := <-requested
							ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
							defer cancel()
							s, err := w.Stop(ctx)
							if err != nil {
								stopped <- err
								return
							}
							if th.Word().State() != threadstate.SelfSuspended {
								err = fmt.Errorf("%s is %v after Stop, want it parked in EnterSafe", th.Name(), th.Word())
							}
							runtime.GC()
							runtime.GC()
							stopped <- errors.Join(err, s.Restart())
						}()
						testutil.OnThread(t, w, "stackmove", func(th *suspend.Thread) {
							burn(256 << 10) // a large stack, mostly unused below
							descend(d, func() {
								var marker byte
								was = uintptr(unsafe.Pointer(&marker))
								requested <- th
								for th.Word().State() != threadstate.AsyncSuspendRequested {
									runtime.Gosched()
								}
								msg = op.run(th, d)
								is = uintptr(unsafe.Pointer(&marker))
							})
						})
						if err := <-stopped; err != nil {
							t.Fatal(err)
						}
						calls++
						if was != is {
							moved++
						}
						if msg == "" && op.finish != nil {
							msg = op.finish(d)
						}
						if msg != "" {
							bad = append(bad, fmt.Sprintf("depth %d: %s", d, msg))
						}
					}
					if moved == 0 {
						t.Errorf("the collector never moved the parked thread's stack in %d calls: the test proves nothing", calls)
					}
					t.Logf("the stack moved under %d of %d calls", moved, calls)
					if len(bad) > 0 {
						t.Errorf("%d of %d depths went wrong under %v:\n%s", len(bad), calls, p, firstLines(bad, 10))
					}
				})
			}
		})
	}
}

func firstLines(lines []string, n int) string {
	if len(lines) > n {
		lines = append(lines[:n:n], fmt.Sprintf("... and %d more", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}

// TestSyscall6UintptrEscapes checks the compiler honours the directive on
// Syscall6 (uintptrescapes): every argument is marked, and a caller that
// converts a local buffer's address in the call expression gets the buffer
// moved to the heap, where the stack's moves cannot leave the kernel a stale
// address (without the directive the buffer stays on the stack).
func TestSyscall6UintptrEscapes(t *testing.T) {
	out, err := exec.Command(testenv.GoTool(t), "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, a := range []string{"trap", "a1", "a2", "a3", "a4", "a5", "a6"} {
		if !strings.Contains(string(out), "marking "+a+" as escaping uintptr") {
			t.Errorf("Syscall6's %s is not marked as an escaping uintptr:\n%s", a, grep(string(out), "uintptr"))
		}
	}
	out, err = exec.Command(testenv.GoTool(t), "build", "-gcflags=-m", "./internal/rawcaller").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "moved to heap: buf") {
		t.Errorf("a buffer passed to Syscall6 as uintptr(unsafe.Pointer(&buf[0])) stays on the stack:\n%s",
			grep(string(out), "rawcaller.go"))
	}
}
