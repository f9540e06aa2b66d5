package luasuspend_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// stackOf renders a view's stack as "function@line" per frame, outermost
// first, with "|" where a coroutine begins.
func stackOf(v luasuspend.View) string {
	var b strings.Builder
	for i, f := range v.Stack {
		if i > 0 {
			if f.Coroutine != v.Stack[i-1].Coroutine {
				b.WriteString(" | ")
			} else {
				b.WriteString(" > ")
			}
		}
		fmt.Fprintf(&b, "%s@%d", f.Function, f.Line)
	}
	return b.String()
}

// pausedInLoop reports whether s, a stack from stackOf, is one of the
// places TestPauseMidLoop's guest can park at once it has called ready():
// outer's loop (testing done(), calling inner, jumping back), inside done,
// or inner's loop or return.
func pausedInLoop(s string) bool {
	f := strings.Split(s, " > ")
	if len(f) < 2 || len(f) > 3 || f[0] != "main chunk@11" || !slices.Contains([]string{"outer@7", "outer@8", "outer@9"}, f[1]) {
		return false
	}
	return len(f) == 2 || slices.Contains([]string{"inner@3", "inner@4", "done@-1"}, f[2])
}

// TestPauseMidLoop: a debugger pauses a guest in the middle of its loop,
// reads its call stack (inside inner, called by outer from the chunk's
// top level: names and lines), sees that its counter does not move while
// paused, and resumes it; the other guest runs on meanwhile, and both
// results are right.
func TestPauseMidLoop(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	const src = `
local function inner()
  for i = 1, 100 do n = n + 1 end
end
function outer()
  ready()
  while not done() do
    inner()
  end
end
outer()
`
	stop := make(chan struct{})
	g, done := startGuest(t, w, "paused", src, stop, nil)
	other, otherDone := startGuest(t, w, "other", "ready() loop()", stop, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for range 20 {
		p, err := luasuspend.Pause(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		a := counter(g)
		// The other guest is not paused: its counter moves meanwhile.
		time.Sleep(time.Millisecond)
		b := counter(g)
		again, verr := g.View()
		if err := p.Resume(); err != nil {
			t.Fatal(err)
		}
		if verr != nil {
			t.Fatal(verr)
		}
		if a != b {
			t.Fatalf("the counter moved from %v to %v while paused", a, b)
		}
		if stackOf(again) != stackOf(p.View) {
			t.Fatalf("the stack moved while paused: %s, then %s", stackOf(p.View), stackOf(again))
		}
		s := stackOf(p.View)
		if !pausedInLoop(s) {
			t.Fatalf("paused at %s (%s)", s, p.View.Where())
		}
		seen[s] = true
		if err := p.Resume(); err == nil {
			t.Fatal("a second Resume succeeded")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if !seen["main chunk@11 > outer@8 > inner@3"] {
		t.Errorf("20 pauses never met the guest in its inner loop: %v", seen)
	}
	// The other guest ran: a stop now sees its counter above zero.
	s, err := w.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	moved := counter(other) > 0
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if !moved {
		t.Error("the other guest did not run while one was paused")
	}
	close(stop)
	for _, d := range []<-chan error{done, otherDone} {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
}

// TestStackAcrossTailCallsAndCoroutines: the stack a debugger reads shows
// each frame once (gopher-lua counts the frames tail calls replaced as
// levels of their own, which a naive walk shows as extra copies of the
// bottom frame), Go functions without a line, and the frames of every
// coroutine the guest is inside, in order.
func TestStackAcrossTailCallsAndCoroutines(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	cases := []struct{ name, src, want string }{
		{"tail-call", `
local function g() ready() loop() end
local function f() return g() end
function h() f() end
h()`, "main chunk@5 > h@4 > <<string>:2>@2 > loop@"},
		{"two-tail-calls", `
local function g() ready() loop() end
local function f2() return g() end
local function f1() return f2() end
function h() f1() end
h()`, "main chunk@6 > h@5 > <<string>:2>@2 > loop@"},
		{"coroutine", `
function body()
  local x = 1
  ready()
  loop()
end
local co = coroutine.create(body)
function run() assert(coroutine.resume(co)) end
run()`, "main chunk@9 > run@8 > resume@-1 | corountine@5 > loop@"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			g, done := startGuest(t, w, tc.name, tc.src, stop, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for ctx.Err() == nil {
				p, err := luasuspend.Pause(ctx, g)
				if err != nil {
					t.Fatal(err)
				}
				s := stackOf(p.View)
				if err := p.Resume(); err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(s, tc.want) {
					break // in loop's body (or calling done from it)
				}
				if !strings.HasPrefix(tc.want, s[:strings.LastIndex(s, " ")]) {
					t.Fatalf("stack %s, want %s…", s, tc.want)
				}
				time.Sleep(100 * time.Microsecond)
			}
			if ctx.Err() != nil {
				t.Errorf("the guest did not reach loop in 10 s")
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// quitGuest attaches a state on a goroutine that then ends without
// Detach, and returns once it has.
func quitGuest(t *testing.T, w *suspend.World, name string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		L := lua.NewState()
		_, err := luasuspend.Attach(w, L, name)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAbandonedGuestLeavesTheAdapter: a guest whose goroutine ended
// without Detach is removed by the world, and so from the adapter: the
// stop that finds it names it abandoned, every StopAll after it works,
// and Guests no longer lists it, nor any guest after Close. The adapter
// does not keep the guest alive, so the world also finds it by the
// garbage collector.
func TestAbandonedGuestLeavesTheAdapter(t *testing.T) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	quitGuest(t, w, "quitter")
	var ste *suspend.StopTimeoutError
	if _, err := luasuspend.StopAll(context.Background(), w); !errors.As(err, &ste) || len(ste.Abandoned) != 1 {
		t.Fatalf("the first StopAll: %v; want a timeout naming the quitter abandoned", err)
	}
	for i := range 3 {
		snap, err := luasuspend.StopAll(context.Background(), w)
		if err != nil {
			t.Fatalf("StopAll %d after the quitter was removed: %v", i, err)
		}
		if len(snap.Guests) != 0 {
			t.Errorf("StopAll %d: views %+v, want none", i, snap.Guests)
		}
		if err := snap.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if gs := luasuspend.Guests(w); len(gs) != 0 {
		t.Errorf("Guests lists %d guests after the quitter was removed", len(gs))
	}

	// Found by the garbage collector, with nothing else to go by.
	quitGuest(t, w, "collected")
	for i := 0; ; i++ {
		runtime.GC()
		snap, err := luasuspend.StopAll(context.Background(), w)
		if err == nil {
			if err := snap.Restart(); err != nil {
				t.Fatal(err)
			}
			break
		}
		if i == 10 {
			t.Fatalf("StopAll after %d collections: %v; the adapter keeps the guest alive", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if gs := luasuspend.Guests(w); len(gs) != 0 {
		t.Errorf("Guests lists %d guests after Close", len(gs))
	}
}
