package ottosuspend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestAnyInitiatorStopsAGuest: a guest in a CPU-bound JavaScript loop is
// stopped by a plain World.Stop and suspended by a plain SuspendThread,
// calls that know nothing of otto (the world nudges the guest through the
// suspend.OnRequest function Attach registered), under every policy; it
// takes no step while stopped or suspended, and goes on after each
// restart and resume.
func TestAnyInitiatorStopsAGuest(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(10*time.Second))
			stop := make(chan struct{})
			g, done := startGuest(t, w, "looper", "ready(); loop();", stop, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			held := func(what string, i int, release func() error) float64 {
				t.Helper()
				if !g.Thread().Held() {
					t.Fatalf("%s %d: the guest is not held", what, i)
				}
				a := counter(g)
				time.Sleep(2 * time.Millisecond)
				b := counter(g)
				if err := release(); err != nil {
					t.Fatal(err)
				}
				if a != b {
					t.Fatalf("%s %d: the guest counted from %v to %v while held", what, i, a, b)
				}
				return a
			}
			var last float64
			moved := 0
			for i := range 10 {
				s, err := w.Stop(ctx)
				if err != nil {
					t.Fatalf("stop %d: %v", i, err)
				}
				a := held("stop", i, s.Restart)
				if i > 0 && a != last {
					moved++
				}
				last = a
				if err := w.SuspendThread(ctx, g.Thread()); err != nil {
					t.Fatalf("suspend %d: %v", i, err)
				}
				if a := held("suspend", i, func() error { return w.ResumeThread(g.Thread()) }); a != last {
					moved++
				}
				time.Sleep(3 * time.Millisecond)
			}
			if moved == 0 {
				t.Error("the guest did not count between any two stops")
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRolledBackStopLeavesTheGuestRunning: a stop that times out (the
// guest holds it up in a Go function that waits without a blocking
// region) rolls back; the nudge it sent is left in the guest's channel,
// and polls for nothing when the guest reaches its next node: the guest
// runs on, RUNNING, and the next stop stops it.
func TestRolledBackStopLeavesTheGuestRunning(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(100*time.Millisecond))
			stop := make(chan struct{})
			inHold, release := make(chan struct{}), make(chan struct{})
			g, done := startGuest(t, w, "holder", `
ready();
hold();
loop();`, stop, func(vm *otto.Otto) {
				must(vm.Set("hold", func(otto.FunctionCall) otto.Value {
					close(inHold)
					<-release // waits in GC-unsafe mode: a stop cannot complete
					return otto.UndefinedValue()
				}))
			})
			<-inHold
			var ste *suspend.StopTimeoutError
			if _, err := w.Stop(context.Background()); !errors.As(err, &ste) || len(ste.Waiting) != 1 || ste.Waiting[0] != "holder" {
				t.Fatalf("the stop of a guest in a waiting Go function: %v; want a timeout naming it", err)
			}
			if n := len(g.VM().Interrupt); n != 1 {
				t.Errorf("the guest's channel holds %d funcs after the rolled-back stop, want the nudge", n)
			}
			if st := g.Thread().Word().State(); st != threadstate.Running {
				t.Errorf("after the rollback the guest is %v", st)
			}
			close(release)
			before := 0.0
			deadline := time.Now().Add(20 * time.Second)
			for {
				if err := w.SuspendThread(context.Background(), g.Thread()); err != nil {
					t.Fatal(err)
				}
				c := counter(g)
				if err := w.ResumeThread(g.Thread()); err != nil {
					t.Fatal(err)
				}
				if c > before+1000 {
					break // it counts on
				}
				if time.Now().After(deadline) {
					t.Fatalf("the guest did not run on after the rolled-back stop: n = %v", c)
				}
				time.Sleep(time.Millisecond)
			}
			s, err := w.Stop(context.Background())
			if err != nil {
				t.Fatalf("the stop after the rollback: %v", err)
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMisuseErrors: every wrong use returns an error that names it.
func TestMisuseErrors(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	vm := otto.New()
	if _, err := ottosuspend.Attach(nil, vm, "x"); err == nil || !strings.Contains(err.Error(), "needs a world and an otto VM") {
		t.Errorf("Attach to a nil world: %v", err)
	}
	if _, err := ottosuspend.Attach(w, nil, "x"); err == nil || !strings.Contains(err.Error(), "needs a world and an otto VM") {
		t.Errorf("Attach of a nil VM: %v", err)
	}
	g, err := ottosuspend.Attach(w, vm, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ottosuspend.Attach(w, vm, "y"); err == nil || !strings.Contains(err.Error(), `attached already, as guest "x"`) {
		t.Errorf("second Attach of the VM: %v", err)
	}
	if _, err := ottosuspend.Attach(w, otto.New(), "z"); !errors.Is(err, suspend.ErrAttached) {
		t.Errorf("a second VM attached on the same goroutine: %v; want ErrAttached", err)
	}
	sharing := otto.New()
	sharing.Interrupt = vm.Interrupt // the guest's channel
	elsewhereAttach := make(chan error)
	go func() {
		_, err := ottosuspend.Attach(w, sharing, "sharing")
		elsewhereAttach <- err
	}()
	if err := <-elsewhereAttach; err == nil || !strings.Contains(err.Error(), `Interrupt channel is guest "x"'s`) {
		t.Errorf("Attach of a VM whose Interrupt is a guest's channel: %v", err)
	}
	if _, err := g.View(); err == nil || !strings.Contains(err.Error(), "not stopped") {
		t.Errorf("View of a running guest: %v", err)
	}
	if err := g.Interrupt(nil); err == nil {
		t.Error("Interrupt of a nil func succeeded")
	}
	if err := g.SetInterrupt(vm.Interrupt); err == nil || !strings.Contains(err.Error(), "guest's own channel") {
		t.Errorf("SetInterrupt of the guest's own channel: %v", err)
	}
	// Detach from inside the guest's own JavaScript, and from another
	// goroutine.
	must(vm.Set("detach", func(otto.FunctionCall) otto.Value {
		if err := g.Detach(); err == nil || !strings.Contains(err.Error(), "still running JavaScript") {
			panic(vm.MakeCustomError("Error", fmt.Sprintf("Detach while running: %v", err)))
		}
		return otto.UndefinedValue()
	}))
	if _, err := vm.Run("detach()"); err != nil {
		t.Error(err)
	}
	elsewhere := make(chan error)
	go func() { elsewhere <- g.Detach() }()
	if err := <-elsewhere; err == nil || !strings.Contains(err.Error(), "it was attached on goroutine") {
		t.Errorf("Detach from another goroutine: %v", err)
	}
	if err := g.Detach(); err != nil {
		t.Fatal(err)
	}
	if vm.Interrupt != nil {
		t.Errorf("after Detach the VM's Interrupt is %v, want its own (none)", vm.Interrupt)
	}
	if err := g.Detach(); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("second Detach: %v", err)
	}
	if _, err := g.View(); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("View after Detach: %v", err)
	}
	if err := g.Interrupt(func() {}); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("Interrupt after Detach: %v", err)
	}
	if err := g.SetInterrupt(nil); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("SetInterrupt after Detach: %v", err)
	}
	// The wrappers on a VM that is not attached.
	plain := otto.New()
	must(plain.Set("b", ottosuspend.Builtin("b", func(otto.FunctionCall) otto.Value { return otto.UndefinedValue() })))
	must(plain.Set("blk", ottosuspend.Blocking("blk", func(otto.FunctionCall, []any) (any, error) { return nil, nil })))
	for _, f := range []string{"b", "blk"} {
		_, err := plain.Run(f + "()")
		if err == nil || !strings.Contains(err.Error(), f+": the otto VM is not attached") {
			t.Errorf("%s on a VM that is not attached: %v", f, err)
		}
	}
	fn, err := plain.Get("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ottosuspend.Call(plain, fn, otto.UndefinedValue()); err == nil || !strings.Contains(err.Error(), "not attached") {
		t.Errorf("Call on a VM that is not attached: %v", err)
	}
	if ottosuspend.GuestOf(plain) != nil || ottosuspend.ThreadOf(plain) != nil || ottosuspend.GuestOf(nil) != nil {
		t.Error("GuestOf a VM that is not attached is not nil")
	}
	// Attach while JavaScript runs on the goroutine.
	running := otto.New()
	must(running.Set("attach", func(otto.FunctionCall) otto.Value {
		if _, err := ottosuspend.Attach(w, running, "late"); err == nil || !strings.Contains(err.Error(), "while JavaScript runs") {
			panic(running.MakeCustomError("Error", fmt.Sprintf("Attach while running: %v", err)))
		}
		return otto.UndefinedValue()
	}))
	if _, err := running.Run("attach()"); err != nil {
		t.Error(err)
	}
	// vm.Interrupt replaced while attached: the wrappers say so.
	replaced := otto.New()
	must(replaced.Set("b", ottosuspend.Builtin("b", func(otto.FunctionCall) otto.Value { return otto.UndefinedValue() })))
	if err := ottosuspend.Run(w, replaced, "replaced", func(*ottosuspend.Guest) error {
		mine := make(chan func(), 1)
		replaced.Interrupt = mine
		_, err := replaced.Run("b()")
		if err == nil || !strings.Contains(err.Error(), "vm.Interrupt was replaced") {
			return fmt.Errorf("a Builtin after vm.Interrupt was replaced: %v", err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if replaced.Interrupt == nil {
		t.Error("Detach dropped the channel the embedder assigned while attached")
	}
}

// TestRunDetachesOnPanic: an embedder's halt (a func sent on the VM's
// Interrupt that panics, as otto's documentation shows) ends the run with
// its panic, as without the adapter; Run detaches the guest on the way,
// the world stops without it, and the VM attaches again.
func TestRunDetachesOnPanic(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	type halt struct{}
	vm := newVM(nil)
	own := make(chan func(), 1)
	vm.Interrupt = own
	must(vm.Set("haltMe", func(otto.FunctionCall) otto.Value {
		go func() { own <- func() { panic(halt{}) } }() // from elsewhere, as a watchdog would
		return otto.UndefinedValue()
	}))
	func() {
		defer func() {
			if r := recover(); r != (halt{}) {
				t.Errorf("recovered %v, want the embedder's halt", r)
			}
		}()
		_ = ottosuspend.Run(w, vm, "halted", func(*ottosuspend.Guest) error {
			_, err := vm.Run("haltMe(); while (true) { n++; }")
			return err
		})
		t.Error("the halted run returned")
	}()
	if ottosuspend.GuestOf(vm) != nil || len(ottosuspend.Guests(w)) != 0 {
		t.Fatal("the guest is still attached after the halt")
	}
	if vm.Interrupt != own {
		t.Error("the VM did not get its own Interrupt channel back")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := w.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Threads()); n != 0 {
		t.Errorf("the stop found %d threads", n)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ottosuspend.Run(w, vm, "again", func(*ottosuspend.Guest) error {
		_, err := vm.Run("spin(10)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestNudgeMeetsABlockingRegion: a stop requests the guest while it runs
// Go code, and its nudge waits in the guest's channel; the Go code then
// enters a blocking region, and parks on the way in (a request is
// pending). After the restart it is in the region when a second stop
// comes: that stop counts it as stopped there and sends no nudge; it
// parks on leaving the region until the restart. Then the first stop's
// nudge runs at its next node, polling for nothing, and the guest counts
// on. Under every policy.
func TestNudgeMeetsABlockingRegion(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			inGo, goOn, inRegion, leave := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
			g, done := startGuest(t, w, "region", `
ready();
enter();
loop();`, stop, func(vm *otto.Otto) {
				must(vm.Set("enter", func(otto.FunctionCall) otto.Value {
					close(inGo)
					<-goOn // the first stop's request and nudge come meanwhile
					safepoint.Blocking(ottosuspend.ThreadOf(vm), func() {
						close(inRegion)
						<-leave
					})
					return otto.UndefinedValue()
				}))
			})
			<-inGo
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopped := make(chan *suspend.Stopped, 1)
			go func() {
				s, err := w.Stop(ctx)
				if err != nil {
					t.Error(err)
				}
				stopped <- s
			}()
			// The request is on the guest's word, and its nudge in the
			// guest's channel, before the stop waits.
			for len(g.VM().Interrupt) == 0 {
				time.Sleep(100 * time.Microsecond)
				if ctx.Err() != nil {
					t.Fatal("no nudge came")
				}
			}
			close(goOn) // it enters the region, and parks on the way in
			s := <-stopped
			if s == nil {
				t.FailNow()
			}
			if infos := s.Threads(); len(infos) != 1 || !infos[0].Parked || infos[0].InSafeRegion {
				t.Errorf("the first stop did not park the guest at the region's entry: %+v", infos)
			}
			select {
			case <-inRegion:
				t.Fatal("the guest entered its region while the world was stopped")
			default:
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			<-inRegion
			s, err := w.Stop(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if infos := s.Threads(); len(infos) != 1 || !infos[0].InSafeRegion {
				t.Errorf("the second stop did not count the guest stopped in its region: %+v", infos)
			}
			if n := len(g.VM().Interrupt); n != 1 {
				t.Errorf("the guest's channel holds %d funcs, want the first stop's nudge only", n)
			}
			close(leave) // it leaves the region into the stopped world: it parks
			if err := suspendtest.WaitParked(ctx, g.Thread()); err != nil {
				t.Fatal(err)
			}
			a := counter(g)
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(20 * time.Second); ; {
				if err := w.SuspendThread(ctx, g.Thread()); err != nil {
					t.Fatal(err)
				}
				b := counter(g)
				if err := w.ResumeThread(g.Thread()); err != nil {
					t.Fatal(err)
				}
				if b > a {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the guest did not run on after the restart")
				}
				time.Sleep(time.Millisecond)
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
