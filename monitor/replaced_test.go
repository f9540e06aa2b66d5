//go:build linux

package monitor_test

import (
	"errors"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/internal/testchild"
	"github.com/coopsuspend/coopsuspend/monitor"
)

// TestReplacedHandlerIsReported: once signal.Ignore has taken the
// sampling signal from the monitor's handler, CheckSignals says so, and
// an overrun is reported with Overrun.Err instead of never (the samples
// went unanswered, and were retried silently at every tick); a monitor
// started afterwards fails at Start. It runs in a child process: nothing
// puts a handler back after signal.Ignore.
func TestReplacedHandlerIsReported(t *testing.T) {
	if !arch.Supported() {
		t.Skipf("no sampling on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	testchild.Run(t, func(t *testing.T) {
		const sig = syscall.Signal(40)
		reports := make(chan monitor.Overrun, 1)
		m := monitor.New(monitor.WithSignal(sig), monitor.WithSlice(2*time.Millisecond), monitor.WithTick(time.Millisecond),
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
		if err := m.CheckSignals(); err != nil {
			t.Fatalf("CheckSignals right after Start: %v", err)
		}
		signal.Ignore(sig)
		if err := m.CheckSignals(); !errors.Is(err, arch.ErrHandlerReplaced) {
			t.Fatalf("CheckSignals after signal.Ignore: %v, want arch.ErrHandlerReplaced", err)
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
			tg := &target{name: "guest"}
			m.Enter(tg)
			select { // the slice overruns while the guest waits here
			case o := <-reports:
				reports <- o
			case <-time.After(5 * time.Second):
			}
			m.Leave(tg)
			errc <- nil
		}()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		select {
		case o := <-reports:
			if !errors.Is(o.Err, arch.ErrHandlerReplaced) || o.Name != "guest" {
				t.Errorf("report %v (Err %v), want the guest's overrun with arch.ErrHandlerReplaced", o, o.Err)
			}
		default:
			t.Error("no report of the overrun within 5 s: overruns go unreported once the handler is replaced")
		}
		if err := monitor.New(monitor.WithSignal(sig), monitor.WithOverrun(time.Millisecond, func(monitor.Overrun) {})).Start(); err == nil {
			t.Error("a monitor started on the ignored signal: nothing would answer its samples")
		}
	})
}
