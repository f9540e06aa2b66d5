package luasuspend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// spinSrc defines spin(n), a CPU-bound loop, and loop(), which counts in
// the global n until the Go function done() says to stop: the guest's
// progress is n, readable while it is stopped.
const spinSrc = `
function spin(k)
  local t = 0
  for i = 1, k do
    t = t + (i * 2) % 7
  end
  return t
end

n = 0
function loop()
  while not done() do
    for i = 1, 100 do n = n + 1 end
  end
end
`

// doneFunc returns a Go function for Lua that reports whether stop is
// closed.
func doneFunc(stop <-chan struct{}) lua.LGFunction {
	return func(L *lua.LState) int {
		select {
		case <-stop:
			L.Push(lua.LTrue)
		default:
			L.Push(lua.LFalse)
		}
		return 1
	}
}

// newState returns a state with the standard libraries, spinSrc loaded
// and done() bound to stop. (It may run on any goroutine: spinSrc is a
// constant that loads, or the test is wrong.)
func newState(stop <-chan struct{}) *lua.LState {
	L := lua.NewState()
	L.SetGlobal("done", L.NewFunction(doneFunc(stop)))
	if err := L.DoString(spinSrc); err != nil {
		panic(err)
	}
	return L
}

// counter reads the guest's global n; call it while the guest is held.
func counter(g *luasuspend.Guest) float64 {
	return float64(lua.LVAsNumber(g.State().GetGlobal("n")))
}

// startGuest runs src on a new attached state on its own goroutine and
// returns the guest once it has started, and a channel with Run's error.
// Lua code in src calls ready() once it is under way.
func startGuest(t *testing.T, w *suspend.World, name, src string, stop <-chan struct{}, setup func(*lua.LState)) (*luasuspend.Guest, <-chan error) {
	t.Helper()
	attached := make(chan *luasuspend.Guest, 1)
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		L := newState(stop)
		defer L.Close()
		L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int {
			select {
			case ready <- struct{}{}:
			default:
			}
			return 0
		}))
		if setup != nil {
			setup(L)
		}
		done <- luasuspend.Run(w, L, name, func(g *luasuspend.Guest) error {
			attached <- g
			return L.DoString(src)
		})
	}()
	var g *luasuspend.Guest
	select {
	case g = <-attached:
	case err := <-done:
		t.Fatalf("guest %s ended before it attached: %v", name, err)
	}
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("guest %s ended before it was ready: %v", name, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("guest %s did not start", name)
	}
	return g, done
}

// TestStopWhileLooping: a guest in a CPU-bound Lua loop stops when the
// world stops, under every policy; its counter does not move while
// stopped, and it goes on after the restarts.
func TestStopWhileLooping(t *testing.T) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(10*time.Second))
			stop := make(chan struct{})
			g, done := startGuest(t, w, "looper", "ready() loop()", stop, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var last float64
			moved := 0
			for i := range 5 {
				s, err := w.Stop(ctx)
				if err != nil {
					t.Fatal(err)
				}
				a := counter(g)
				time.Sleep(2 * time.Millisecond)
				b := counter(g)
				if err := s.Restart(); err != nil {
					t.Fatal(err)
				}
				if a != b {
					t.Fatalf("stop %d: the counter moved from %v to %v while the world was stopped", i, a, b)
				}
				if i > 0 && a != last {
					moved++
				}
				last = a
				time.Sleep(5 * time.Millisecond)
			}
			if moved == 0 {
				t.Error("the counter did not move between any two stops")
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestContextKept: the embedder's own context keeps working through the
// polling one: its cancellation and its deadline end the Lua code, also
// inside a coroutine, its values are seen, Guest.SetContext replaces it,
// and Detach gives back L's own context (or none).
func TestContextKept(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	type key struct{}
	cases := []struct {
		name string
		src  string
		// ctx returns the context to give the state and what cancels it.
		ctx  func() (context.Context, context.CancelFunc)
		viaG bool // set through Guest.SetContext after Attach
		want string
	}{
		{"cancel", "ready() loop()", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
		}, false, "context canceled"},
		{"deadline", "ready() loop()", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, false, "context deadline exceeded"},
		{"cancel-in-coroutine", "coroutine.wrap(function() ready() loop() end)()", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, false, "context canceled"},
		{"guest-setcontext", "ready() loop()", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, true, "context canceled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			ctx, cancel := tc.ctx()
			defer cancel()
			errc := make(chan error, 1)
			readyc := make(chan struct{}, 1)
			go func() {
				L := newState(stop)
				defer L.Close()
				L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int {
					select {
					case readyc <- struct{}{}:
					default:
					}
					return 0
				}))
				if !tc.viaG {
					L.SetContext(ctx)
				}
				errc <- func() error {
					err := luasuspend.Run(w, L, tc.name, func(g *luasuspend.Guest) error {
						if tc.viaG {
							if err := g.SetContext(ctx); err != nil {
								return err
							}
						}
						if got := L.Context().Value(key{}); tc.name == "cancel" && got != "v" {
							return fmt.Errorf("the embedder's value through L.Context(): %v", got)
						}
						if g.Context() != ctx {
							return errors.New("Guest.Context is not the embedder's context")
						}
						return L.DoString(tc.src)
					})
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						return fmt.Errorf("the run ended with %v, want %q", err, tc.want)
					}
					// Detach gave back L's own context.
					if tc.viaG {
						if L.Context() != ctx {
							return fmt.Errorf("after Detach L's context is %v, want the one the guest was given", L.Context())
						}
					} else if L.Context() != ctx {
						return fmt.Errorf("after Detach L's context is %v, want its own", L.Context())
					}
					return nil
				}()
			}()
			select {
			case <-readyc:
			case err := <-errc:
				if err != nil || tc.name != "deadline" {
					t.Fatalf("the guest ended before it was ready: %v", err)
				}
				return // the deadline passed before ready(), and ended the run as it should
			}
			if tc.name != "deadline" {
				cancel()
			}
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the guest did not end after its context was done")
			}
		})
	}

	// No context of its own: none after Detach.
	L := lua.NewState()
	defer L.Close()
	if err := luasuspend.Run(w, L, "none", func(g *luasuspend.Guest) error {
		if L.Context() == nil || g.Context() != context.Background() {
			return errors.New("the attached state has no polling context")
		}
		return L.DoString("local x = 1")
	}); err != nil {
		t.Fatal(err)
	}
	if L.Context() != nil {
		t.Errorf("after Detach, a state that had no context has %v", L.Context())
	}

	// A context set with LState.SetContext while attached (which ends the
	// polling) is the embedder's, and Detach leaves it.
	replaced, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := luasuspend.Run(w, L, "replaced", func(*luasuspend.Guest) error {
		L.SetContext(replaced)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if L.Context() != replaced {
		t.Errorf("after Detach, the context set while attached was replaced by %v", L.Context())
	}
}

// TestMisuseErrors: every wrong use returns an error that names it.
func TestMisuseErrors(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	L := lua.NewState()
	defer L.Close()
	if _, err := luasuspend.Attach(nil, L, "x"); err == nil || !strings.Contains(err.Error(), "needs a world") {
		t.Errorf("Attach to a nil world: %v", err)
	}
	if _, err := luasuspend.Attach(w, nil, "x"); err == nil || !strings.Contains(err.Error(), "needs a world and a Lua state") {
		t.Errorf("Attach of a nil state: %v", err)
	}
	co, _ := L.NewThread()
	if _, err := luasuspend.Attach(w, co, "x"); err == nil || !strings.Contains(err.Error(), "coroutine thread") {
		t.Errorf("Attach of a coroutine thread: %v", err)
	}
	g, err := luasuspend.Attach(w, L, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := luasuspend.Attach(w, L, "y"); err == nil || !strings.Contains(err.Error(), `attached already, as guest "x"`) {
		t.Errorf("second Attach: %v", err)
	}
	if _, err := g.View(); err == nil || !strings.Contains(err.Error(), "not stopped") {
		t.Errorf("View of a running guest: %v", err)
	}
	other := lua.NewState()
	defer other.Close()
	foreign, _ := other.NewThread()
	if err := g.Adopt(foreign); err == nil || !strings.Contains(err.Error(), "not a thread of the guest's state") {
		t.Errorf("Adopt of another state's thread: %v", err)
	}
	// Detach from inside the guest's own Lua code, and from another
	// goroutine.
	L.SetGlobal("detach", L.NewFunction(func(L *lua.LState) int {
		if err := g.Detach(); err == nil || !strings.Contains(err.Error(), "still running Lua code") {
			L.RaiseError("Detach while running: %v", err)
		}
		return 0
	}))
	if err := L.DoString("detach()"); err != nil {
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
	if err := g.Detach(); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("second Detach: %v", err)
	}
	if _, err := g.View(); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("View after Detach: %v", err)
	}
	if err := g.SetContext(context.Background()); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("SetContext after Detach: %v", err)
	}
	if err := g.Adopt(co); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("Adopt after Detach: %v", err)
	}
	// The wrappers on a state that is not attached.
	plain := lua.NewState()
	defer plain.Close()
	plain.SetGlobal("b", plain.NewFunction(luasuspend.Builtin("b", func(*lua.LState) int { return 0 })))
	plain.SetGlobal("blk", plain.NewFunction(luasuspend.Blocking("blk", func(*lua.LState, []lua.LValue) ([]lua.LValue, error) { return nil, nil })))
	for _, f := range []string{"b", "blk"} {
		err := plain.DoString(f + "()")
		if err == nil || !strings.Contains(err.Error(), f+": the Lua state is not attached") {
			t.Errorf("%s on a state that is not attached: %v", f, err)
		}
	}
	if _, err := luasuspend.Call(plain, plain.GetGlobal("print")); err == nil || !strings.Contains(err.Error(), "not attached") {
		t.Errorf("Call on a state that is not attached: %v", err)
	}
	if luasuspend.GuestOf(plain) != nil || luasuspend.ThreadOf(plain) != nil || luasuspend.GuestOf(nil) != nil {
		t.Error("GuestOf a state that is not attached is not nil")
	}
	// Attach while running.
	running := lua.NewState()
	defer running.Close()
	running.SetGlobal("attach", running.NewFunction(func(L *lua.LState) int {
		if _, err := luasuspend.Attach(w, L, "late"); err == nil || !strings.Contains(err.Error(), "is running Lua code") {
			L.RaiseError("Attach while running: %v", err)
		}
		return 0
	}))
	if err := running.DoString("attach()"); err != nil {
		t.Error(err)
	}
}

// TestRunDetachesOnPanic: a Go function that panics through an
// unprotected call ends Run with the panic, and the state is detached
// even though the panic left its frames behind: the world stops without
// it, and a new state attaches on the same goroutine.
func TestRunDetachesOnPanic(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("boom", L.NewFunction(func(*lua.LState) int { panic("boom") }))
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the Go function's panic", r)
			}
		}()
		_ = luasuspend.Run(w, L, "panicky", func(*luasuspend.Guest) error {
			L.Push(L.GetGlobal("boom"))
			L.Call(0, 0) // unprotected: the panic leaves the frame on L's stack
			return nil
		})
	}()
	if luasuspend.GuestOf(L) != nil || len(luasuspend.Guests(w)) != 0 {
		t.Fatal("the guest is still attached after the panic")
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
	L2 := lua.NewState()
	defer L2.Close()
	if err := luasuspend.Run(w, L2, "again", func(*luasuspend.Guest) error {
		return L2.DoString("local t = 0 for i = 1, 10 do t = t + i end")
	}); err != nil {
		t.Fatal(err)
	}
}
