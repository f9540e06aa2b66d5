package ottosuspend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// TestBlockingFunction: a Blocking function does not delay a stop, finds
// its thread with ThreadOf, gets its arguments as Go values and returns
// its result, is seen stopped in its region, parks when it returns into a
// stopped world, calls back into JavaScript through Call (whose code a
// stop does wait for); JavaScript it runs without Call fails with an
// Error that names Call, also inside a try statement; its error is a
// JavaScript Error that a catch clause sees.
func TestBlockingFunction(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	entered := make(chan *suspend.Thread)
	release := make(chan struct{})
	wait := ottosuspend.Blocking("wait", func(call otto.FunctionCall, args []any) (any, error) {
		entered <- ottosuspend.ThreadOf(call.Otto)
		<-release
		if len(args) != 3 || args[1] != 100.0 && args[1] != int64(100) || fmt.Sprint(args[2]) != "map[k:v]" {
			return nil, fmt.Errorf("arguments %#v", args)
		}
		res, err := ottosuspend.Call(call.Otto, call.Argument(0), otto.UndefinedValue(), args[1])
		if err != nil {
			return nil, err
		}
		t, err := res.ToFloat()
		return []any{t, "after"}, err
	})
	wrong := ottosuspend.Blocking("wrong", func(call otto.FunctionCall, _ []any) (any, error) {
		_, err := call.Argument(0).Call(otto.UndefinedValue())
		return nil, err
	})
	failing := ottosuspend.Blocking("failing", func(otto.FunctionCall, []any) (any, error) {
		return nil, errors.New("it failed")
	})
	var guest *ottosuspend.Guest
	attached := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		vm := newVM(nil)
		must(vm.Set("wait", wait))
		must(vm.Set("wrong", wrong))
		must(vm.Set("failing", failing))
		done <- ottosuspend.Run(w, vm, "io", func(g *ottosuspend.Guest) error {
			guest = g
			close(attached)
			script, err := vm.Compile("io.js", `
var r = wait(spin, 100, {k: "v"});
if (r[0] !== spin(100) || r[1] !== "after") throw new Error("wait returned " + r);
`)
			if err != nil {
				return err
			}
			if _, err := vm.Run(script); err != nil {
				return err
			}
			_, err = vm.Run("wrong(function() { return 1; })")
			if err == nil || !strings.Contains(err.Error(), "ottosuspend.Call") {
				return fmt.Errorf("JavaScript run without Call in a Blocking function: %v", err)
			}
			_, err = vm.Run("wrong(function() { try { return 1; } catch (e) { return 2; } })")
			if err == nil || !strings.Contains(err.Error(), "ottosuspend.Call") {
				return fmt.Errorf("JavaScript run without Call in a Blocking function, in a try: %v", err)
			}
			v, err := vm.Run(`try { failing(); "no error" } catch (e) { String(e) }`)
			if err != nil || v.String() != "Error: failing: it failed" {
				return fmt.Errorf("a Blocking function's error: %v, %v", v, err)
			}
			// The guest polls on as before.
			_, err = vm.Run("spin(1000)")
			return err
		})
	}()
	<-attached
	th := <-entered
	if th == nil || th != guest.Thread() {
		t.Fatal("ThreadOf in the Blocking function is not the guest's thread")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := ottosuspend.StopAll(ctx, w) // does not wait for the function
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Guests) != 1 || !snap.Guests[0].InBlocking || snap.Guests[0].Where() != "io.js:2:9" {
		t.Errorf("snapshot during the Blocking function: %+v (at %q)", snap.Guests, snap.Guests[0].Where())
	}
	close(release) // the function returns into a stopped world: it parks
	if err := suspendtest.WaitParked(ctx, th); err != nil {
		t.Error(err)
	}
	if err := snap.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCallbackIsWaitedFor: a stop meets a guest inside a JavaScript
// callback that a Blocking function made through Call, and waits for it:
// the guest is parked (not in its region), its view shows the callback on
// top of the Blocking function, and its counter does not move while the
// world is stopped. Under every policy.
func TestCallbackIsWaitedFor(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			viaCall := ottosuspend.Blocking("viaCall", func(call otto.FunctionCall, _ []any) (any, error) {
				return ottosuspend.Call(call.Otto, call.Argument(0), otto.UndefinedValue())
			})
			g, done := startGuest(t, w, "callback", "viaCall(function cb() { ready(); loop(); });", stop, func(vm *otto.Otto) {
				must(vm.Set("viaCall", viaCall))
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := range 5 {
				snap, err := ottosuspend.StopAll(ctx, w)
				if err != nil {
					t.Fatal(err)
				}
				infos := snap.Stopped.Threads()
				v := snap.Guests[0]
				a := counter(g)
				time.Sleep(2 * time.Millisecond)
				b := counter(g)
				if err := snap.Restart(); err != nil {
					t.Fatal(err)
				}
				if len(infos) != 1 || !infos[0].Parked || infos[0].InSafeRegion {
					t.Errorf("stop %d: the guest in a callback was not parked: %+v", i, infos)
				}
				if v.InBlocking {
					t.Errorf("stop %d: the view says the guest is in its Blocking function, but it runs the callback", i)
				}
				if s := fmt.Sprint(v.Stack); !strings.Contains(s, "viaCall (native) cb (") {
					t.Errorf("stop %d: the callback's stack %s does not show viaCall", i, s)
				}
				if a != b {
					t.Errorf("stop %d: the callback's counter moved from %v to %v while the world was stopped", i, a, b)
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

// TestBuiltinPolls: a Builtin polls on entry: a stop requested while the
// guest runs Go code, which then calls the Builtin through a Value's Call
// (otto calls a native function without evaluating a node, so the nudge
// waiting in the channel cannot run), parks the guest before the
// Builtin's function runs; after the restart the function runs.
func TestBuiltinPolls(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	inGo, goOn := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	done := make(chan error, 1)
	var th *suspend.Thread
	go func() {
		vm := otto.New()
		// outer holds the guest in Go code, where it does not poll, until
		// told to go on, then calls count.
		must(vm.Set("outer", func(call otto.FunctionCall) otto.Value {
			close(inGo)
			<-goOn
			v, err := mustValue(call.Otto.Get("count")).Call(otto.UndefinedValue(), 41)
			if err != nil {
				panic(err)
			}
			return v
		}))
		must(vm.Set("count", ottosuspend.Builtin("count", func(call otto.FunctionCall) otto.Value {
			calls.Add(1)
			n, err := call.Argument(0).ToInteger()
			must(err)
			return mustValue(otto.ToValue(n + 1))
		})))
		done <- ottosuspend.Run(w, vm, "builtin", func(g *ottosuspend.Guest) error {
			th = g.Thread()
			v, err := vm.Run("outer()")
			if err == nil && v.String() != "42" {
				err = fmt.Errorf("outer() = %v", v)
			}
			return err
		})
	}()
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
	select {
	case <-stopped:
		t.Fatal("the stop completed while the guest ran Go code")
	case <-time.After(20 * time.Millisecond):
	}
	close(goOn)
	s := <-stopped
	if s == nil {
		t.FailNow()
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the Builtin ran %d times before the guest parked", n)
	}
	if !th.Held() {
		t.Error("the guest is not held")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("the Builtin ran %d times", calls.Load())
	}
}
