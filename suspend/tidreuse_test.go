//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package suspend_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testchild"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"golang.org/x/sys/unix"
)

// goOnThreadID runs fn on a goroutine locked to a new OS thread whose id
// is tid, in a PID namespace where this process may choose its next
// thread's id. fn returns with the goroutine still locked, so its thread
// ends with it.
//
// How a thread gets the id: each try writes the id before it to
// ns_last_pid and starts a goroutine that locks its thread. A goroutine
// on a thread of another id holds it (blocked, locked), so the runtime
// makes a new thread for the P it gives up, and the next try's goroutine
// runs there. With one P the runtime makes only that thread; the first
// tries also let it make its template thread (for threads started from a
// locked one) away from the id, and until the id's last thread has
// ended the kernel gives the next free one instead.
func goOnThreadID(t *testing.T, tid int, fn func()) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var spares []chan struct{}
	defer func() {
		for _, release := range spares {
			close(release)
		}
	}()
	for try := 0; try < 500; try++ {
		last := tid - 1
		if try < 3 {
			last = tid - 100
		}
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(last)), 0); err != nil {
			t.Skipf("cannot choose thread ids here: %v", err)
		}
		got, release := make(chan bool), make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() != tid {
				got <- false
				<-release
				runtime.UnlockOSThread()
				return
			}
			got <- true
			fn()
		}()
		if <-got {
			return
		}
		spares = append(spares, release)
	}
	t.Fatalf("no new thread got id %d in 500 tries", tid)
}

// echoReader reads messages from a pipe with safepoint.Read on an
// attached thread and echoes each on a channel.
type echoReader struct {
	name string
	r, w int
	echo chan string
}

func newEchoReader(t *testing.T, name string) *echoReader {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	return &echoReader{name: name, r: p[0], w: p[1], echo: make(chan string, 1)}
}

// serve reads until "quit" or an error, then detaches th.
func (er *echoReader) serve(t *testing.T, th *suspend.Thread) {
	buf := make([]byte, 16)
	for {
		n, err := safepoint.Read(th, er.r, buf)
		if err != nil {
			t.Errorf("%s: %v", er.name, err)
			break
		}
		er.echo <- string(buf[:n])
		if string(buf[:n]) == "quit" {
			break
		}
	}
	if err := th.Detach(); err != nil {
		t.Error(err)
	}
}

func (er *echoReader) write(t *testing.T, msg string) {
	t.Helper()
	if _, err := unix.Write(er.w, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// await returns the next echo, or "" after d.
func (er *echoReader) await(d time.Duration) string {
	select {
	case got := <-er.echo:
		return got
	case <-time.After(d):
		return ""
	}
}

// TestReusedThreadIDFreezesNoOtherThread replays, in a PID namespace
// where thread ids can be chosen, the reuse that made a hybrid stop freeze
// a thread of another world. X holds the first slot of tid T's chain in
// the handler's table; A attaches on T and its goroutine ends without
// Detach (its thread with it); X detaches; a new thread gets T and B
// attaches there; Close sweeps A; C attaches (taking A's freed record)
// and blocks in a wrapped read; B detaches, joins a coop world and blocks
// in a read there, while SIGURG keeps reaching T. Then every hybrid stop
// must park C, and only C: B answers while the hybrid world is stopped,
// and C does not run until the restart. Before the fix, B's handler found
// C's record under T, took C's request and parked B, and C ran on and
// panicked.
func TestReusedThreadIDFreezesNoOtherThread(t *testing.T) {
	testchild.RunInNewPIDNamespace(t, func(t *testing.T) {
		const tidT = 20000
		const tidX = tidT - 4096 // the same slot of the 4,096-slot table
		hybrid := newWorld(t, suspend.WithPolicy(suspend.Hybrid), suspend.WithStopTimeout(10*time.Second))
		coop := newWorld(t, suspend.WithPolicy(suspend.Coop))

		xDetach, xDone := make(chan struct{}), make(chan struct{})
		goOnThreadID(t, tidX, func() {
			defer close(xDone)
			th, err := hybrid.Attach("X")
			if err != nil {
				t.Error(err)
				return
			}
			<-xDetach
			if err := th.Detach(); err != nil {
				t.Error(err)
			}
		})
		aDone := make(chan struct{})
		goOnThreadID(t, tidT, func() {
			defer close(aDone)
			if _, err := hybrid.Attach("A"); err != nil { // and never Detach
				t.Error(err)
			}
		})
		<-aDone
		close(xDetach)
		<-xDone

		// B gets A's id once A's thread has ended.
		b := newEchoReader(t, "B")
		bMove, bDone := make(chan struct{}), make(chan struct{})
		bAttached := make(chan bool)
		goOnThreadID(t, tidT, func() {
			defer close(bDone)
			th, err := hybrid.Attach("B")
			bAttached <- err == nil
			if err != nil {
				t.Error(err)
				return
			}
			<-bMove
			if err := th.Detach(); err != nil {
				t.Error(err)
				return
			}
			th, err = coop.Attach("B")
			if err != nil {
				t.Error(err)
				return
			}
			b.serve(t, th)
		})
		if !<-bAttached {
			t.FailNow()
		}
		if err := hybrid.Close(); !errors.Is(err, suspend.ErrInUse) {
			t.Fatalf("Close with B attached: %v, want ErrInUse (after sweeping A)", err)
		}

		c := newEchoReader(t, "C")
		cAttached, cDone := make(chan *suspend.Thread), make(chan struct{})
		go func() {
			defer close(cDone)
			th, err := hybrid.Attach("C")
			if err != nil {
				t.Error(err)
				close(cAttached)
				return
			}
			cAttached <- th
			c.serve(t, th)
		}()
		cth := <-cAttached
		if cth == nil {
			t.FailNow()
		}
		close(bMove)
		waitInWrapper(t, hybrid, cth)

		var quit atomic.Bool
		urgDone := make(chan struct{})
		go func() {
			defer close(urgDone)
			for !quit.Load() {
				if err := unix.Tgkill(unix.Getpid(), tidT, syscall.SIGURG); err != nil {
					t.Errorf("SIGURG to %d: %v", tidT, err)
					return
				}
				time.Sleep(20 * time.Microsecond)
			}
		}()
		stopSIGURG := sync.OnceFunc(func() {
			quit.Store(true)
			<-urgDone
		})
		defer stopSIGURG()

		for _, er := range []*echoReader{b, c} {
			er.write(t, "hello")
			if got := er.await(5 * time.Second); got != "hello" {
				t.Fatalf("%s echoed %q before any stop, want hello", er.name, got)
			}
		}
		waitInWrapper(t, hybrid, cth)
		stops, async := 50, 0
		for i := range stops {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			s, err := hybrid.Stop(ctx)
			cancel()
			if err != nil {
				t.Fatalf("stop %d: %v", i, err)
			}
			for _, info := range s.Threads() {
				if info.Name == "C" && info.Async {
					async++
				}
			}
			b.write(t, "b")
			if got := b.await(5 * time.Second); got != "b" {
				t.Errorf("stop %d: B, a thread of the coop world on the reused id %d, did not answer while the hybrid world was stopped (echo %q)", i, tidT, got)
			}
			c.write(t, "c")
			if got := c.await(20 * time.Millisecond); got != "" {
				t.Errorf("stop %d: C read %q while the hybrid world was stopped", i, got)
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if got := c.await(5 * time.Second); got != "c" {
				t.Fatalf("stop %d: C's read after the restart gave %q", i, got)
			}
			if t.Failed() {
				break
			}
			waitInWrapper(t, hybrid, cth)
		}
		t.Logf("C was parked in its read by %d of %d stops", async, stops)
		stopSIGURG() // before B's thread ends with its goroutine
		for _, er := range []*echoReader{b, c} {
			er.write(t, "quit")
			if got := er.await(5 * time.Second); got != "quit" {
				t.Errorf("%s did not quit: %q", er.name, got)
			}
		}
		<-bDone
		<-cDone
	})
}
