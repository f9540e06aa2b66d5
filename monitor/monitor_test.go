package monitor_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/internal/testenv"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/monitor"
)

type target struct {
	name     string
	requests atomic.Int64
}

func (t *target) Name() string       { return t.name }
func (t *target) RequestPreemption() { t.requests.Add(1) }

// TestRequestsUntilLeave: an expired slice is asked to yield again every
// tick until it leaves Running; after that, and before the slice ends,
// nothing is asked.
func TestRequestsUntilLeave(t *testing.T) {
	const slice = 200 * time.Millisecond
	m := monitor.New(monitor.WithSlice(slice), monitor.WithTick(time.Millisecond))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	tg := &target{name: "spinner"}
	entered := time.Now()
	m.Enter(tg)
	time.Sleep(10 * time.Millisecond)
	if n := tg.requests.Load(); n != 0 && time.Since(entered) < slice {
		t.Fatalf("%d requests before the slice ended", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for tg.requests.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests in 5s after the slice ended", tg.requests.Load())
		}
		time.Sleep(time.Millisecond)
	}
	m.Leave(tg)
	if m.Running() != 0 {
		t.Fatalf("%d running after Leave", m.Running())
	}
	after := tg.requests.Load()
	time.Sleep(20 * time.Millisecond)
	if n := tg.requests.Load(); n > after+1 { // a tick may have been in flight
		t.Errorf("requests went on after Leave: %d -> %d", after, n)
	}
}

// TestStopLeavesNothing: Stop is idempotent, waits for the tick in
// flight, leaves no goroutine, and a stopped monitor cannot restart.
func TestStopLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(100*time.Microsecond))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	tgs := make([]*target, 8)
	for i := range tgs {
		tgs[i] = &target{name: "t"}
		m.Enter(tgs[i])
	}
	time.Sleep(5 * time.Millisecond)
	m.Stop()
	m.Stop()
	counts := make([]int64, len(tgs))
	for i, tg := range tgs {
		counts[i] = tg.requests.Load()
	}
	time.Sleep(5 * time.Millisecond)
	for i, tg := range tgs {
		if tg.requests.Load() != counts[i] {
			t.Errorf("target %d asked after Stop", i)
		}
	}
	if err := m.Start(); err == nil {
		t.Error("a stopped monitor restarted")
	}
	m.Enter(&target{}) // ignored
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Stop, %d before", n, before)
	}
}

// TestNotStartedDoesNothing: before Start the monitor ignores Enter.
func TestNotStartedDoesNothing(t *testing.T) {
	m := monitor.New(monitor.WithSlice(time.Millisecond), monitor.WithTick(time.Millisecond))
	tg := &target{}
	m.Enter(tg)
	time.Sleep(5 * time.Millisecond)
	if tg.requests.Load() != 0 || m.Running() != 0 {
		t.Error("a monitor that was not started acted")
	}
}

func TestBadOptions(t *testing.T) {
	if err := monitor.New(monitor.WithSlice(0)).Start(); err == nil {
		t.Error("a zero slice was accepted")
	}
	m := monitor.New(monitor.WithSignal(9), monitor.WithOverrun(time.Millisecond, func(monitor.Overrun) {}))
	if err := m.Start(); err == nil {
		m.Stop()
		t.Error("sampling on SIGKILL was accepted")
	}
}

// A guest loop is a loop without a safepoint whose overruns a report
// must place in the program; pkgs are the packages a report may name
// (the test's, and the standard library's it calls).
type guestLoop struct {
	run  func(n int) int
	pkgs []string
	// placed: a report that names a place is expected; false where this
	// machine may legitimately never catch the loop in Go code.
	placed bool
}

var guestLoops = map[string]guestLoop{
	// Computes in registers: every sample of the running guest is in it.
	"compute": {guestCompute, []string{testPkg}, true},
	// Reads the clock: much of its time is in the vDSO, and where the
	// vDSO falls back to a system call (some virtual machines), a
	// signal is delivered as the call returns, in the vDSO, nearly every
	// time: the position may stay unknown.
	"clock": {guestClock, []string{testPkg, "time."}, false},
	// Loads an atomic: under the race detector much of its time is in
	// the race runtime.
	"atomic": {guestAtomic, []string{testPkg, "sync/atomic."}, !raceEnabled},
}

const testPkg = "github.com/coopsuspend/coopsuspend/monitor_test."

var guestSink atomic.Int64

//go:noinline
func guestCompute(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ x
	}
	return x
}

//go:noinline
func guestClock(n int) int {
	x := 0
	for i := 0; i < n/64; i++ {
		x += int(time.Now().UnixNano())
	}
	return x
}

var guestWord atomic.Int32

//go:noinline
func guestAtomic(n int) int {
	x := 0
	for i := 0; i < n/16; i++ {
		x += int(guestWord.Load())
	}
	return x
}

// overrunSlices runs slices of a registered, locked guest goroutine that
// calls loop without a safepoint, each until the monitor reports it (or
// 5 s pass), and returns the reports.
func overrunSlices(t *testing.T, slices int, loop func(int) int) []monitor.Overrun {
	t.Helper()
	reports := make(chan monitor.Overrun, slices) // one report per slice at most
	m := monitor.New(monitor.WithSlice(2*time.Millisecond), monitor.WithTick(time.Millisecond),
		monitor.WithOverrun(2*time.Millisecond, func(o monitor.Overrun) { reports <- o }))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		rec, err := asyncsuspend.Register(goid.Current())
		if err != nil {
			errc <- err
			return
		}
		defer rec.Unregister()
		for range slices {
			tg := &target{name: "guest"}
			// The loop itself calls nothing but loop, so every sample in
			// the program is in loop or right here. A clock read, an
			// atomic load of a flag or an atomic add to guestSink would
			// each be a place the samples could find: under the race
			// detector sync/atomic's methods are real calls, and CI once
			// saw a report at (*atomic.Int64).Add. len of a channel is
			// read inline.
			expired := make(chan struct{}, 1)
			timeout := time.AfterFunc(5*time.Second, func() { expired <- struct{}{} })
			m.Enter(tg)
			n, sum := len(reports), 0
			for len(reports) == n && len(expired) == 0 {
				sum += loop(1 << 16)
			}
			m.Leave(tg)
			timeout.Stop()
			guestSink.Add(int64(sum))
		}
		errc <- nil
	}()
	err := <-errc
	m.Stop() // no report after this: the channel can be closed
	if err != nil {
		t.Fatal(err)
	}
	close(reports)
	var got []monitor.Overrun
	for o := range reports {
		got = append(got, o)
	}
	return got
}

// load keeps every P busy with goroutines that never block (Go's own
// preemption deschedules them) until the returned stop is called.
func load() (stop func()) {
	var quit atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// loopcheck:ok only TestOverrunNamesTheGuest runs load, and it skips under asyncpreemptoff.
			for x := 0; !quit.Load(); x++ {
				guestSink.Add(int64(guestCompute(1 << 10)))
			}
		}()
	}
	return func() { quit.Store(true); wg.Wait() }
}

// TestOverrunNamesTheGuest: an overrun report names a place in the
// guest's own code, never the Go runtime's scheduler, the race runtime
// or the vDSO the thread happened to be in when sampled; if no sample
// found it in the program, the report says the position is unknown and
// keeps the missed samples apart. Run with GOMAXPROCS=1 (the monitor and
// the guest share one P), under the race detector, and with every P
// loaded by other goroutines.
func TestOverrunNamesTheGuest(t *testing.T) {
	testenv.NeedsAsyncPreemption(t, "its guests spin in loops without a safepoint, on purpose, while the monitor must get a CPU")
	if !arch.Supported() {
		t.Skipf("no sampling on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, loaded := range []bool{false, true} {
		for name, loop := range guestLoops {
			t.Run(fmt.Sprintf("%s/loaded=%v", name, loaded), func(t *testing.T) {
				if loaded {
					defer load()()
				}
				reports := overrunSlices(t, 5, loop.run)
				if len(reports) == 0 {
					t.Fatal("no overrun reported")
				}
				placed := 0
				for _, o := range reports {
					t.Log(o)
					for _, f := range o.Missed {
						if f.Place() == arch.InProgram {
							t.Errorf("a sample in the program was set aside: %v", f)
						}
					}
					if !o.Known() {
						if o.Where != (arch.Frame{}) || len(o.Missed) == 0 || !strings.Contains(o.String(), "position unknown") {
							t.Errorf("an unplaced report that does not say so: %+v", o)
						}
						continue
					}
					placed++
					if p := o.Where.Place(); p != arch.InProgram {
						t.Errorf("reported in %v: %v", p, o.Where)
					}
					in := false
					for _, pkg := range loop.pkgs {
						in = in || strings.HasPrefix(o.Where.Function, pkg) || strings.HasPrefix(o.Where.InlinedInto, pkg)
					}
					if !in {
						t.Errorf("reported at %v, not in the guest's loop (%v)", o.Where, loop.pkgs)
					}
				}
				if loop.placed && placed == 0 {
					t.Errorf("none of %d reports found the guest in its loop", len(reports))
				}
			})
		}
	}
}

// TestOverrunSampledOnRegisteredThreads: Enter finds the thread to sample
// on the calling goroutine's OS thread, and only a thread registered with
// the signal handler can be sampled. On an unregistered thread an overrun
// slice is still asked to yield, but nothing is reported; the same slice
// on a registered thread (the control) is. The guest sleeps instead of
// spinning: the monitor cannot tell the two apart, and every sample of a
// sleeping thread lands in the runtime, so the report comes after
// samplesPerReport misses and says the position is unknown.
func TestOverrunSampledOnRegisteredThreads(t *testing.T) {
	if !arch.Supported() {
		t.Skipf("no sampling on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, registered := range []bool{false, true} {
		t.Run(fmt.Sprintf("registered=%v", registered), func(t *testing.T) {
			reports := make(chan monitor.Overrun, 1)
			m := monitor.New(monitor.WithSlice(2*time.Millisecond), monitor.WithTick(time.Millisecond),
				monitor.WithOverrun(2*time.Millisecond, func(o monitor.Overrun) {
					select {
					case reports <- o:
					default:
					}
				}))
			if err := m.Start(); err != nil {
				t.Fatal(err)
			}
			defer m.Stop()
			tg := &target{name: "sleeper"}
			tids := make(chan int, 1)
			errc := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				if registered {
					rec, err := asyncsuspend.Register(goid.Current())
					if err != nil {
						errc <- err
						return
					}
					defer rec.Unregister()
				}
				tids <- asyncsuspend.Gettid()
				m.Enter(tg)
				if registered {
					select {
					case o := <-reports:
						reports <- o
					case <-time.After(5 * time.Second):
					}
				} else {
					// 100 ticks past the margin: a registered thread is
					// reported within about 10.
					time.Sleep(100 * time.Millisecond)
				}
				m.Leave(tg)
				errc <- nil
			}()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if tg.requests.Load() == 0 {
				t.Error("the overrunning slice was never asked to yield")
			}
			tid := <-tids
			select {
			case o := <-reports:
				if !registered {
					t.Errorf("an unregistered thread was sampled: %v", o)
				} else if o.Tid != tid || o.Name != tg.name {
					t.Errorf("the report names %q on thread %d, want %q on %d: %v", o.Name, o.Tid, tg.name, tid, o)
				}
			default:
				if registered {
					t.Error("no report for the registered thread's overrun within 5 s")
				}
			}
		})
	}
}
