//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/internal/testchild"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"golang.org/x/sys/unix"
)

// allocators keeps the garbage collector busy until stop is called.
func allocators(n int) (stop func()) {
	var quit atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep [][]byte
			for i := 0; !quit.Load(); i++ {
				keep = append(keep, make([]byte, 1024))
				if len(keep) > 256 {
					keep = keep[:0]
				}
			}
		}()
	}
	return func() { quit.Store(true); wg.Wait() }
}

// TestAsyncSuspendRounds parks and releases a thread blocked in a wrapped
// read, again and again, while other goroutines allocate under GOGC=10:
// the collector must never wait for the parked thread (it holds no P), and
// the read must still return the right data.
func TestAsyncSuspendRounds(t *testing.T) {
	rounds := 10000
	if testing.Short() {
		rounds = 1000
	}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	stop := allocators(2)
	defer stop()
	br := startReader(t)
	var gcs runtime.MemStats
	runtime.ReadMemStats(&gcs)
	before := gcs.NumGC
	parks := 0
	for i := 0; i < rounds; i++ {
		parked, err := br.rec.SuspendAsync(context.Background(), arch.DefaultSignal)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if parked {
			parks++
			if i%64 == 0 {
				// A collection while the thread is parked in its handler.
				runtime.GC()
			}
			br.rec.ResumeAsync()
		}
	}
	if got := br.finish(t, "after the rounds"); got != "after the rounds" {
		t.Fatalf("read returned %q", got)
	}
	runtime.ReadMemStats(&gcs)
	t.Logf("%d rounds, %d parked the reader, %d collections meanwhile", rounds, parks, gcs.NumGC-before)
	if parks < rounds/2 {
		t.Errorf("only %d of %d requests parked a thread blocked in read", parks, rounds)
	}
}

// spin computes in registers only, so that a sample (even under the race
// detector, which instruments memory accesses) finds the thread in it.
//
//go:noinline
func spin(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ x
	}
	return x
}

var spinSink int

// spinner is a locked, registered goroutine spinning in Go code.
func startSpinner(t testing.TB) (rec *Record, stop func()) {
	testenv.NeedsAsyncPreemption(t, "a goroutine spins in a loop without calls, on purpose (a guest without a safepoint)")
	var quit atomic.Bool
	ready := make(chan *Record)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, err := Register(goid.Current())
		if err != nil {
			t.Error(err)
			ready <- nil
			return
		}
		defer r.Unregister()
		ready <- r
		for !quit.Load() {
			spinSink += spin(1 << 16)
		}
	}()
	rec = <-ready
	if rec == nil {
		t.FailNow()
	}
	return rec, func() { quit.Store(true); <-done }
}

// TestDeclineOutsideEntry: a thread running Go code is never parked in
// the handler, whatever is asked; a sample of it works and finds it in
// Go code.
func TestDeclineOutsideEntry(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	rec, stop := startSpinner(t)
	defer stop()
	for i := 0; i < 500; i++ {
		parked, err := rec.SuspendAsync(context.Background(), arch.DefaultSignal)
		if err != nil {
			t.Fatal(err)
		}
		if parked {
			c, _ := rec.Context()
			t.Fatalf("round %d: a thread spinning in Go code was parked at %v", i, c.Where())
		}
	}
	// A sample shows where the thread is. While Go's scheduler has the
	// spinner descheduled (with one P, whenever this goroutine runs),
	// its locked thread sleeps in the runtime's own futex: the signal is
	// delivered by a timer after this goroutine has given its P away, and
	// a sample outside the program is not the spinner's position.
	var where []arch.Frame
	for i := 0; i < 200; i++ {
		c, err := rec.SampleAfter(arch.DefaultSignal, time.Duration(1+i%4)*100*time.Microsecond)
		if err != nil {
			t.Fatal(err)
		}
		fr := c.Where()
		if strings.HasSuffix(fr.Function, "asyncsuspend.spin") {
			if p := fr.Place(); p != arch.InProgram {
				t.Fatalf("the spinner's loop classified as %v: %v", p, fr)
			}
			t.Logf("sampled at %v", fr)
			return
		}
		where = append(where, fr)
	}
	t.Errorf("200 samples never found the spinner in its loop: %v", where[:5])
}

// TestGCWithSpinners: with the handler in front of Go's on SIGURG,
// goroutines spinning without calls are still preempted by Go, so
// collections finish.
func TestGCWithSpinners(t *testing.T) {
	testenv.NeedsAsyncPreemption(t, "it proves that Go's asynchronous preemption of spinning goroutines still works with our handler")
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	var quit atomic.Bool
	var wg sync.WaitGroup
	// The spinners end however the test ends: left spinning after a
	// failure, they kept the next tests from ever running with one P.
	defer func() {
		quit.Store(true)
		wg.Wait()
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !quit.Load() {
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		for range 10 {
			runtime.GC()
		}
		close(done)
	}()
	select {
	case <-done:
	// A hang detector, not a timing: alone the collections take about 4 s
	// with one P, and up to 50 s were seen with one P on a loaded
	// machine, where the allocating tests before this one leave the
	// collector busy.
	case <-time.After(3 * time.Minute):
		t.Logf("the threads, with the signals each blocks (SIGURG is bit 23):\n%s", threadStates())
		buf := make([]byte, 1<<20)
		t.Logf("the goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		t.Fatal("10 collections with 4 spinners did not finish in 3 minutes: Go's preemption is not chained")
	}
}

// threadStates lists the process's threads from /proc: state, blocked
// signals, and where the kernel has them waiting, for a failure that
// looks like a thread no signal reaches.
func threadStates() string {
	var b strings.Builder
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err.Error()
	}
	for _, task := range tasks {
		dir := "/proc/self/task/" + task.Name()
		status, err := os.ReadFile(dir + "/status")
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", task.Name(), err)
			continue
		}
		fields := []string{task.Name()}
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "State:") || strings.HasPrefix(line, "SigBlk:") || strings.HasPrefix(line, "voluntary_ctxt_switches:") {
				fields = append(fields, strings.Join(strings.Fields(line), " "))
			}
		}
		if wchan, err := os.ReadFile(dir + "/wchan"); err == nil {
			fields = append(fields, "wchan "+string(wchan))
		}
		fmt.Fprintln(&b, strings.Join(fields, "; "))
	}
	return b.String()
}

// TestInterrupt: Interrupt makes a wrapped read return EINTR, and the
// wrapper learns that it was on purpose.
func TestInterrupt(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, fd := range p {
			if err := unix.Close(fd); err != nil {
				t.Errorf("closing the pipe: %v", err)
			}
		}
	}()
	type result struct {
		errno       syscall.Errno
		interrupted bool
	}
	recs, results := make(chan *Record), make(chan result)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		rec, err := Register(goid.Current())
		if err != nil {
			t.Error(err)
			close(recs)
			return
		}
		defer rec.Unregister()
		recs <- rec
		var buf [8]byte
		_, _, e := Syscall6(rec, unix.SYS_READ, uintptr(p[0]), uintptr(unsafePointer(&buf[0])), 8, 0, 0, 0)
		results <- result{e, rec.TakeInterrupt()}
	}()
	rec := <-recs
	if rec == nil {
		t.FailNow()
	}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		// Repeat: the first signal may come before the thread reaches
		// the kernel entry, and the flag alone makes the entry return.
		if err := rec.Interrupt(arch.DefaultSignal); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-results:
			if r.errno != unix.EINTR || !r.interrupted {
				t.Fatalf("interrupted read returned errno %v, interrupted %v", r.errno, r.interrupted)
			}
			return
		case <-tick.C:
		case <-deadline:
			t.Fatal("Interrupt did not end the read")
		}
	}
}

// TestHandlerReplacementDetected: signal.Ignore replaces the handler; the
// check says so instead of the library hanging later. It runs in a child
// process: after signal.Ignore no handler is left to chain to, not even
// after signal.Reset, so the signal is lost to the rest of the process.
func TestHandlerReplacementDetected(t *testing.T) {
	testchild.Run(t, func(t *testing.T) {
		const sig = syscall.Signal(40)
		if err := Install(sig); err != nil {
			t.Fatal(err)
		}
		defer Uninstall(sig)
		if err := Installed(sig); err != nil {
			t.Fatalf("freshly installed: %v", err)
		}
		signal.Ignore(sig)
		err := Installed(sig)
		if !errors.Is(err, arch.ErrHandlerReplaced) {
			t.Fatalf("after signal.Ignore: %v, want arch.ErrHandlerReplaced", err)
		}
		t.Log(err)
		if err := Install(sig); !errors.Is(err, arch.ErrHandlerReplaced) {
			t.Errorf("a second Install over a replaced handler: %v", err)
		}
	})
}

// TestInstallRefusesInvalidSignals: Install checks the signal with
// arch.ValidSignal before it touches the signal's action.
func TestInstallRefusesInvalidSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{unix.SIGSEGV, unix.SIGPROF, 34, 63} {
		if err := Install(sig); err == nil {
			Uninstall(sig)
			t.Errorf("Install(%d) succeeded", sig)
		}
	}
}

// TestSampleDuringParks: samples asked (as a monitor does) while another
// initiator parks and releases the same thread never take a park's answer
// or keep a release from being seen: every park is a park, every release
// returns, and a sample either succeeds or says the record is busy.
func TestSampleDuringParks(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	br := startReader(t)
	stop := make(chan struct{})
	var samples, busy atomic.Int64
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			switch _, err := br.rec.Sample(arch.DefaultSignal); {
			case err == nil:
				samples.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
				runtime.Gosched()
			default:
				done <- err
				return
			}
		}
	}()
	// 2,000 rounds, and on until 100 samples have come in between (the
	// sampler gets less of the machine under load: CI under -race once
	// saw 97 in 2,000 rounds), for at most 20 s.
	parks, rounds := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 2000 || samples.Load() < 100 && time.Now().Before(deadline); i++ {
		rounds++
		parked, err := br.rec.SuspendAsync(context.Background(), arch.DefaultSignal)
		if err != nil {
			t.Fatal(err)
		}
		if parked {
			parks++
			if c, ok := br.rec.Context(); !ok || !InKernelEntry(c.PC) {
				t.Fatalf("round %d: a park saved a context at %v (available: %v)", i, c.Where(), ok)
			}
			br.rec.ResumeAsync()
		}
		runtime.Gosched() // let samples in between the parks
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := br.finish(t, "after"); got != "after" {
		t.Fatalf("read returned %q", got)
	}
	t.Logf("%d parks in %d rounds, %d samples, %d busy", parks, rounds, samples.Load(), busy.Load())
	if parks < rounds/2 || samples.Load() < 100 {
		t.Errorf("%d parks in %d rounds, %d samples", parks, rounds, samples.Load())
	}
}

// TestContextRacesResume reads a parked thread's context from other
// goroutines while the park is resumed and taken again, as a Dump does
// while a stop restarts, and while a spinning thread is sampled, so that
// the register buffers go round the pool: Context either reports the
// park's registers (at the kernel entry) or none, never a buffer that
// another request has (the spinner's registers are in Go code).
func TestContextRacesResume(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	br := startReader(t)
	spinRec, stopSpinner := startSpinner(t)
	defer stopSpinner()
	var quit atomic.Bool
	var wg sync.WaitGroup
	var seen, none atomic.Int64
	errs := make(chan error, 3)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !quit.Load() {
				c, ok := br.rec.Context()
				runtime.Gosched() // leave the initiator time to resume
				if !ok {
					none.Add(1)
					continue
				}
				seen.Add(1)
				if !InKernelEntry(c.PC) {
					errs <- fmt.Errorf("a parked thread's context is at %v", c.Where())
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !quit.Load() {
			if _, err := spinRec.Sample(arch.DefaultSignal); err != nil {
				errs <- err
				return
			}
		}
	}()
	rounds := 1000
	if testing.Short() {
		rounds = 200
	}
	for i := 0; i < rounds && len(errs) == 0; i++ {
		parked, err := br.rec.SuspendAsync(context.Background(), arch.DefaultSignal)
		if err != nil {
			t.Fatal(err)
		}
		if parked {
			runtime.Gosched()
			br.rec.ResumeAsync()
		}
	}
	quit.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c, ok := br.rec.Context(); ok {
		t.Errorf("a resumed thread still reports a context at %v", c.Where())
	}
	if got := br.finish(t, "done"); got != "done" {
		t.Fatalf("read returned %q", got)
	}
	t.Logf("%d contexts read during parks, %d found none", seen.Load(), none.Load())
}
