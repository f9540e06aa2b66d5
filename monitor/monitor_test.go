package monitor_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

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
	m.Enter(tg, nil)
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
		m.Enter(tgs[i], nil)
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
	m.Enter(&target{}, nil) // ignored
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
	m.Enter(tg, nil)
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
