package luasuspend_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// TestBlockingFunction: a Blocking function does not delay a stop, finds
// its thread with ThreadOf, gets its arguments and returns its results,
// is seen stopped in its region at the Lua line that called it, parks
// when it returns into a stopped world, calls back into Lua through Call
// (whose code a stop does wait for), and Lua code run from it without
// Call fails with an error that names Call. Its error is a Lua error.
func TestBlockingFunction(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	entered := make(chan *suspend.Thread)
	release := make(chan struct{})
	wait := luasuspend.Blocking("wait", func(L *lua.LState, args []lua.LValue) ([]lua.LValue, error) {
		entered <- luasuspend.ThreadOf(L)
		<-release
		res, err := luasuspend.Call(L, args[0], args[1])
		if err != nil {
			return nil, err
		}
		return append(res, lua.LString("after")), nil
	})
	wrong := luasuspend.Blocking("wrong", func(L *lua.LState, args []lua.LValue) ([]lua.LValue, error) {
		err := L.CallByParam(lua.P{Fn: args[0], NRet: 0, Protect: true})
		return nil, err
	})
	failing := luasuspend.Blocking("failing", func(*lua.LState, []lua.LValue) ([]lua.LValue, error) {
		return nil, errors.New("it failed")
	})
	var guest *luasuspend.Guest
	attached := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		L := newState(nil)
		defer L.Close()
		L.SetGlobal("wait", L.NewFunction(wait))
		L.SetGlobal("wrong", L.NewFunction(wrong))
		L.SetGlobal("failing", L.NewFunction(failing))
		done <- luasuspend.Run(w, L, "io", func(g *luasuspend.Guest) error {
			guest = g
			close(attached)
			if err := L.DoString(`
local a, b = wait(spin, 100)
assert(a == spin(100) and b == "after", tostring(a) .. " " .. tostring(b))
`); err != nil {
				return err
			}
			err := L.DoString("wrong(function() return 1 end)")
			if err == nil || !strings.Contains(err.Error(), "luasuspend.Call") {
				return fmt.Errorf("Lua code run without Call in a Blocking function: %v", err)
			}
			err = L.DoString("failing()")
			if err == nil || !strings.Contains(err.Error(), "failing: it failed") {
				return fmt.Errorf("a Blocking function's error: %v", err)
			}
			return nil
		})
	}()
	<-attached
	th := <-entered
	if th == nil || th != guest.Thread() {
		t.Fatal("ThreadOf in the Blocking function is not the guest's thread")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := luasuspend.StopAll(ctx, w) // does not wait for the function
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Guests) != 1 || !snap.Guests[0].InBlocking || snap.Guests[0].Where() != "<string>:2" {
		t.Errorf("snapshot during the Blocking function: %+v (at %s)", snap.Guests, snap.Guests[0].Where())
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

// TestCallbackIsWaitedFor: a stop meets a guest inside a Lua callback that
// a Blocking function made through Call, and waits for it: the guest is
// parked (not in its region), and its view shows the callback's frame on
// top of the Go function's.
func TestCallbackIsWaitedFor(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	stop := make(chan struct{})
	viaCall := luasuspend.Blocking("viaCall", func(L *lua.LState, args []lua.LValue) ([]lua.LValue, error) {
		return luasuspend.Call(L, args[0])
	})
	g, done := startGuest(t, w, "callback", "viaCall(function() ready() loop() end)", stop, func(L *lua.LState) {
		L.SetGlobal("viaCall", L.NewFunction(viaCall))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := luasuspend.StopAll(ctx, w)
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
		t.Errorf("the guest in a callback was not parked: %+v", infos)
	}
	if v.InBlocking {
		t.Error("the view says the guest is in its Blocking function, but it runs the callback")
	}
	var names []string
	for _, f := range v.Stack {
		names = append(names, f.Function)
	}
	if s := strings.Join(names, " > "); !strings.Contains(s, "main chunk > viaCall > ") {
		t.Errorf("the callback's stack: %s", s)
	}
	if a != b {
		t.Errorf("the callback's counter moved from %v to %v while the world was stopped", a, b)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBuiltinPolls: a Builtin polls on entry: a stop requested while the
// guest runs Go code, which then calls the Builtin directly (no Lua
// instruction, so no other poll, in between), parks the guest before the
// Builtin's function runs; after the restart the function runs.
func TestBuiltinPolls(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	inGo := make(chan struct{})
	goOn := make(chan struct{})
	var calls atomic.Int32
	done := make(chan error, 1)
	var th *suspend.Thread
	go func() {
		L := lua.NewState()
		defer L.Close()
		// outer holds the guest in Go code, where it does not poll, until
		// told to go on, then calls count from Go.
		L.SetGlobal("outer", L.NewFunction(func(L *lua.LState) int {
			close(inGo)
			<-goOn
			if err := L.CallByParam(lua.P{Fn: L.GetGlobal("count"), NRet: 1, Protect: true}, lua.LNumber(41)); err != nil {
				L.RaiseError("%v", err)
			}
			return 1
		}))
		L.SetGlobal("count", L.NewFunction(luasuspend.Builtin("count", func(L *lua.LState) int {
			calls.Add(1)
			L.Push(lua.LNumber(L.CheckNumber(1) + 1))
			return 1
		})))
		done <- luasuspend.Run(w, L, "builtin", func(g *luasuspend.Guest) error {
			th = g.Thread()
			return L.DoString(`assert(outer() == 42)`)
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
	// The stop cannot complete while the guest is in outer.
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

// TestForeignDoneDoesNotPoll: L.Context() may be used anywhere: other
// goroutines that call its Done (directly, through a context derived from
// it, while the guest runs, while it is stopped, while it is in a
// Blocking function) neither park nor disturb the guest's thread, and
// Go code on the guest's goroutine that waits on it inside a Blocking
// function does not poll there (which would panic). A storm runs
// meanwhile; every stop completes, and the guest's counter does not move
// while the world is stopped (a foreign goroutine that polled in its
// stead would leave it running).
func TestForeignDoneDoesNotPoll(t *testing.T) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid} {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			ctxs := make(chan context.Context, 1)
			var spins atomic.Int64
			var wg sync.WaitGroup
			waitCtx := luasuspend.Blocking("waitCtx", func(L *lua.LState, _ []lua.LValue) ([]lua.LValue, error) {
				ctx := L.Context() // the polling context, on the guest's goroutine, in the region
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(50 * time.Microsecond):
				}
				return nil, nil
			})
			g, done := startGuest(t, w, "owner", `
share()
ready()
while not done() do
  n = n + 1
  spin(50)
  waitCtx()
end`, stop, func(L *lua.LState) {
				L.SetGlobal("waitCtx", L.NewFunction(waitCtx))
				L.SetGlobal("share", L.NewFunction(func(L *lua.LState) int {
					ctxs <- L.Context()
					return 0
				}))
			})
			ctx := <-ctxs
			derived, cancel := context.WithCancel(ctx) // from this goroutine
			defer cancel()
			for _, c := range []context.Context{ctx, derived, ctx} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-c.Done():
							t.Error("the guest's context was cancelled")
							return
						case <-stop:
							return
						default:
							spins.Add(1)
							runtime.Gosched() // let the storm's goroutine run
						}
					}
				}()
			}
			frozen := func(*suspend.Stopped) error {
				a := counter(g)
				time.Sleep(50 * time.Microsecond)
				if b := counter(g); a != b {
					return fmt.Errorf("the guest's counter moved from %v to %v while the world was stopped", a, b)
				}
				return nil
			}
			storm := suspendtest.StartStorm(w, suspendtest.StormConfig{StopTimeout: 5 * time.Second, Check: frozen})
			time.Sleep(300 * time.Millisecond)
			rep, err := storm.End()
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if rep.Stops == 0 || spins.Load() == 0 {
				t.Fatalf("%d stops, %d foreign Done calls: nothing was tested", rep.Stops, spins.Load())
			}
			t.Logf("%v; %d foreign Done calls", rep, spins.Load())
		})
	}
}
