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

// coroutineLoops are Lua programs whose loop runs inside coroutines, made
// every way Lua code and Go code can make one. Each calls ready() from
// inside the coroutine, then loops until done(); depth is how many
// coroutines deep the loop runs.
var coroutineLoops = []struct {
	name  string
	src   string
	depth int
	// goThread: the program resumes gothread, a thread made by Go code
	// (LState.NewThread) before Attach.
	goThread bool
}{
	{name: "wrap", src: `coroutine.wrap(function() ready() loop() end)()`, depth: 1},
	{name: "resume", src: `
local co = coroutine.create(function() ready() loop() end)
local ok, err = coroutine.resume(co)
assert(ok, err)`, depth: 1},
	{name: "yield-and-resume-again", src: `
local co = coroutine.create(function() coroutine.yield(1) ready() loop() end)
assert(coroutine.resume(co))
assert(coroutine.resume(co))`, depth: 1},
	{name: "nested", src: `
coroutine.wrap(function()
  local co = coroutine.create(function() ready() loop() end)
  assert(coroutine.resume(co))
end)()`, depth: 2},
	{name: "made-by-go", src: `assert(coroutine.resume(gothread))`, depth: 1, goThread: true},
}

// TestStopInsideCoroutine: a stop of the world, and a Pause, complete
// while a guest loops inside a Lua coroutine, whichever way it was made,
// under every policy; the guest's view shows the coroutine, and its
// counter does not move while it is stopped.
func TestStopInsideCoroutine(t *testing.T) {
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		for _, tc := range coroutineLoops {
			t.Run(fmt.Sprintf("%v/%s", p, tc.name), func(t *testing.T) {
				w := suspendtest.NewWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(5*time.Second))
				stop := make(chan struct{})
				var setup func(*lua.LState)
				if tc.goThread {
					// A thread made and started by Go code before Attach,
					// when the state had no context: it yields at once,
					// and Lua code resumes it.
					setup = func(L *lua.LState) {
						th, _ := L.NewThread()
						fn, err := L.LoadString("coroutine.yield() ready() loop()")
						if err != nil {
							panic(err)
						}
						if st, err, _ := L.Resume(th, fn); st != lua.ResumeYield {
							panic(fmt.Sprint("the Go-made thread did not yield: ", err))
						}
						L.SetGlobal("gothread", th)
					}
				}
				g, done := startGuest(t, w, tc.name, tc.src, stop, setup)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				snap, err := luasuspend.StopAll(ctx, w)
				if err != nil {
					t.Fatal(err)
				}
				a := counter(g)
				time.Sleep(2 * time.Millisecond)
				b := counter(g)
				v := snap.Guests[0]
				if err := snap.Restart(); err != nil {
					t.Fatal(err)
				}
				if a != b {
					t.Errorf("the counter moved from %v to %v while the world was stopped", a, b)
				}
				if v.Coroutines != tc.depth {
					t.Errorf("the view says %d coroutines deep, want %d: %v", v.Coroutines, tc.depth, v.Stack)
				}
				if top := v.Stack[len(v.Stack)-1]; top.Coroutine != tc.depth || !strings.Contains(v.Where(), "<string>:") {
					t.Errorf("the innermost frame is %v in coroutine %d (%s)", top, top.Coroutine, v.Where())
				}
				pz, err := luasuspend.Pause(ctx, g)
				if err != nil {
					t.Fatal(err)
				}
				if pz.View.Coroutines != tc.depth {
					t.Errorf("paused %d coroutines deep, want %d", pz.View.Coroutines, tc.depth)
				}
				if err := pz.Resume(); err != nil {
					t.Fatal(err)
				}
				close(stop)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestGoResumedThread: a thread that Go code makes with Guest.NewThread,
// or makes with LState.NewThread and adopts, and resumes with
// LState.Resume, polls; one made with LState.NewThread alone does not (a
// stop that meets it times out, naming the guest), which is why
// Guest.NewThread and Guest.Adopt exist.
func TestGoResumedThread(t *testing.T) {
	for _, how := range []string{"Guest.NewThread", "Guest.Adopt", "LState.NewThread"} {
		t.Run(how, func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(300*time.Millisecond))
			stop := make(chan struct{})
			attached := make(chan *luasuspend.Guest, 1)
			ready := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				L := newState(stop)
				defer L.Close()
				L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int { ready <- struct{}{}; return 0 }))
				done <- luasuspend.Run(w, L, "resumer", func(g *luasuspend.Guest) error {
					attached <- g
					var th *lua.LState
					switch how {
					case "Guest.NewThread":
						th, _ = g.NewThread()
					case "Guest.Adopt":
						th, _ = L.NewThread()
						if err := g.Adopt(th); err != nil {
							return err
						}
					default:
						th, _ = L.NewThread()
					}
					fn, err := L.LoadString("ready() loop()")
					if err != nil {
						return err
					}
					st, err, _ := L.Resume(th, fn)
					if st != lua.ResumeOK {
						return fmt.Errorf("resume: %v %v", st, err)
					}
					return nil
				})
			}()
			<-attached
			<-ready
			s, err := w.Stop(context.Background())
			var ste *suspend.StopTimeoutError
			polls := how != "LState.NewThread"
			switch {
			case polls && err != nil:
				t.Errorf("stop during a thread from %s: %v", how, err)
			case polls:
				if err := s.Restart(); err != nil {
					t.Fatal(err)
				}
			case !errors.As(err, &ste) || !strings.Contains(err.Error(), "resumer"):
				t.Errorf("stop during a thread from LState.NewThread: %v; want a timeout naming the guest", err)
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCoroutinesNeedTheLibraryPatch: without the adapter's coroutine
// library (WithoutCoroutineLibrary), a stop that meets a guest looping
// inside coroutine.wrap times out, naming the guest, as the issue found
// with a bare polling context; TestStopInsideCoroutine passes because of
// the patch.
func TestCoroutinesNeedTheLibraryPatch(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(300*time.Millisecond))
	stop := make(chan struct{})
	attached := make(chan struct{})
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		L := newState(stop)
		defer L.Close()
		L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int { ready <- struct{}{}; return 0 }))
		done <- luasuspend.Run(w, L, "unpatched", func(*luasuspend.Guest) error {
			close(attached)
			return L.DoString(`coroutine.wrap(function() ready() loop() end)()`)
		}, luasuspend.WithoutCoroutineLibrary())
	}()
	<-attached
	<-ready
	_, err := w.Stop(context.Background())
	var ste *suspend.StopTimeoutError
	if !errors.As(err, &ste) || !strings.Contains(err.Error(), "unpatched") {
		t.Errorf("stop during an unpatched coroutine: %v; want a timeout naming the guest", err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCoroutinesAcrossAttachments: Detach puts the coroutine library's
// own functions back; a coroutine made while attached still runs after
// Detach, and, once the state is attached again as another guest, polls
// for that guest: a stop that meets it looping completes.
func TestCoroutinesAcrossAttachments(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(5*time.Second))
	stop := make(chan struct{})
	second := make(chan *luasuspend.Guest, 1)
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		L := newState(stop)
		defer L.Close()
		quick := true // done() answers true at once until the second guest
		L.SetGlobal("done", L.NewFunction(func(L *lua.LState) int {
			if quick {
				L.Push(lua.LTrue)
				return 1
			}
			return doneFunc(stop)(L)
		}))
		L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int {
			select {
			case ready <- struct{}{}:
			default:
			}
			return 0
		}))
		done <- func() error {
			orig := map[string]lua.LValue{}
			lib := L.GetGlobal("coroutine").(*lua.LTable)
			for _, name := range []string{"create", "wrap", "resume"} {
				orig[name] = lib.RawGetString(name)
			}
			if err := luasuspend.Run(w, L, "first", func(*luasuspend.Guest) error {
				if lib.RawGetString("wrap") == orig["wrap"] {
					return errors.New("Attach did not replace coroutine.wrap")
				}
				return L.DoString(`co = coroutine.wrap(function() while true do ready() loop() coroutine.yield() end end)`)
			}); err != nil {
				return err
			}
			for name, fn := range orig {
				if lib.RawGetString(name) != fn {
					return fmt.Errorf("after Detach coroutine.%s is not the library's own", name)
				}
			}
			if err := L.DoString(`co() co()`); err != nil {
				return fmt.Errorf("the coroutine after Detach: %w", err)
			}
			<-ready // drain
			return luasuspend.Run(w, L, "second", func(g *luasuspend.Guest) error {
				quick = false
				second <- g
				return L.DoString(`co()`)
			})
		}()
	}()
	var g *luasuspend.Guest
	select {
	case g = <-second:
	case err := <-done:
		t.Fatal(err)
	}
	<-ready
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := luasuspend.StopAll(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Guests) != 1 || snap.Guests[0].Name != "second" || snap.Guests[0].Coroutines != 1 {
		t.Errorf("the snapshot: %+v", snap.Guests)
	}
	a := counter(g)
	time.Sleep(2 * time.Millisecond)
	if b := counter(g); a != b {
		t.Errorf("the counter moved from %v to %v while the world was stopped", a, b)
	}
	if err := snap.Restart(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
