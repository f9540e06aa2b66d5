package ottosuspend_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// stackOf renders a view's stack as "function@file:line" per frame,
// outermost first.
func stackOf(v ottosuspend.View) string {
	var parts []string
	for _, f := range v.Stack {
		switch {
		case f.Native:
			parts = append(parts, f.Function+"@go")
		case f.Line > 0:
			parts = append(parts, fmt.Sprintf("%s@%s:%d", f.Function, f.File, f.Line))
		default:
			parts = append(parts, f.Function+"@?")
		}
	}
	return strings.Join(parts, " > ")
}

// pauseSrc is job.js of TestPauseMidLoop.
const pauseSrc = `function inner(k) {
  var t = 0;
  for (var i = 0; i < k; i++) {
    t += i; n++;
  }
  return t;
}
function outer() {
  ready();
  while (!done()) {
    inner(100);
  }
}
outer();
`

// TestPauseMidLoop: a debugger pauses a guest in the middle of its loop
// (SuspendThread), reads its call stack (inner, called by outer at line
// 11, called from the top level at line 14), sees that its counter and
// stack do not move while paused, and resumes it; the other guest runs
// on meanwhile.
func TestPauseMidLoop(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			attached := make(chan *ottosuspend.Guest, 1)
			done := make(chan error, 1)
			ready := make(chan struct{}, 1)
			go func() {
				vm := newVM(stop)
				must(vm.Set("ready", func(otto.FunctionCall) otto.Value { ready <- struct{}{}; return otto.UndefinedValue() }))
				done <- ottosuspend.Run(w, vm, "paused", func(g *ottosuspend.Guest) error {
					attached <- g
					script, err := vm.Compile("job.js", pauseSrc)
					if err != nil {
						return err
					}
					_, err = vm.Run(script)
					return err
				})
			}()
			g := <-attached
			<-ready
			other, otherDone := startGuest(t, w, "other", "ready(); loop();", stop, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			seen := map[string]int{}
			for range 30 {
				pz, err := ottosuspend.Pause(ctx, g)
				if err != nil {
					t.Fatal(err)
				}
				a := counter(g)
				time.Sleep(time.Millisecond)
				b := counter(g)
				again, verr := g.View()
				if err := pz.Resume(); err != nil {
					t.Fatal(err)
				}
				if verr != nil {
					t.Fatal(verr)
				}
				if a != b {
					t.Fatalf("the counter moved from %v to %v while paused", a, b)
				}
				s := stackOf(pz.View)
				if stackOf(again) != s {
					t.Fatalf("the stack moved while paused: %s, then %s", s, stackOf(again))
				}
				seen[s]++
				if err := pz.Resume(); err == nil {
					t.Fatal("a second Resume succeeded")
				}
				time.Sleep(200 * time.Microsecond)
			}
			// Where the guest can be: in outer's loop (its position is
			// its last call: ready at line 9 before the loop's first
			// test, then done at line 10 or inner at 11), or in inner
			// (which makes no call, so otto knows no line for it).
			allowed := map[string]bool{
				"@job.js:14 > outer@job.js:9":            true,
				"@job.js:14 > outer@job.js:10":           true,
				"@job.js:14 > outer@job.js:11":           true,
				"@job.js:14 > outer@job.js:11 > inner@?": true,
			}
			for s := range seen {
				if !allowed[s] {
					t.Errorf("paused at %s", s)
				}
			}
			if seen["@job.js:14 > outer@job.js:11 > inner@?"] == 0 {
				t.Errorf("30 pauses never met the guest in inner: %v", seen)
			}
			t.Logf("stacks: %v", seen)
			// The other guest ran: a stop now sees its counter above 0.
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
		})
	}
}

// TestViewRunsGettersSafely: otto's Context reads the variables of every
// scope, and a with statement's object is a scope: a getter of it runs
// JavaScript on the debugger's goroutine. With a service waiting in the
// guest's channel (the guest is in a Blocking function, which leaves one
// there), that JavaScript receives it, and must not poll the guest's
// thread from the debugger's goroutine: the service goes back to the
// channel, and polls for the guest after the restart.
func TestViewRunsGettersSafely(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	inWait, release := make(chan struct{}), make(chan struct{})
	wait := ottosuspend.Blocking("wait", func(otto.FunctionCall, []any) (any, error) {
		close(inWait)
		<-release
		return nil, nil
	})
	done := make(chan error, 1)
	go func() {
		vm := newVM(nil)
		must(vm.Set("wait", wait))
		done <- ottosuspend.Run(w, vm, "with", func(*ottosuspend.Guest) error {
			script, err := vm.Compile("with.js", `
var gets = 0;
var obj = { get g() { var x = 0; for (var i = 0; i < 10; i++) { x += i; } gets++; return x; } };
function f() {
  with (obj) { wait(); }
}
f();
spin(100);
gets;`)
			if err != nil {
				return err
			}
			v, err := vm.Run(script)
			if err == nil && v.String() != "1" {
				err = fmt.Errorf("the getter ran %v times, want once (in View)", v)
			}
			return err
		})
	}()
	<-inWait
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := ottosuspend.StopAll(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	v := snap.Guests[0]
	if !v.InBlocking || stackOf(v) != "@with.js:7 > f@with.js:5 > wait@go" {
		t.Errorf("view: %s (in Blocking: %v)", stackOf(v), v.InBlocking)
	}
	if err := snap.Restart(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestViewOnlyWhileHeld: View fails while the guest runs, and after
// Detach, and says why; it works while the guest is held between two
// runs, with an empty stack.
func TestViewOnlyWhileHeld(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	vm := otto.New()
	g, err := ottosuspend.Attach(w, vm, "idle")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.View(); err == nil || !strings.Contains(err.Error(), `guest "idle" is not stopped`) {
		t.Errorf("View of a running guest: %v", err)
	}
	// Held while outside JavaScript: the guest's goroutine is this one,
	// in a blocking region.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var views []ottosuspend.View
	var verr error
	blockingRun(g, func() {
		snap, err := ottosuspend.StopAll(ctx, w)
		if err != nil {
			verr = err
			return
		}
		views = snap.Guests
		verr = snap.Restart()
	})
	if verr != nil {
		t.Fatal(verr)
	}
	if len(views) != 1 || len(views[0].Stack) != 0 || views[0].Where() != "" {
		t.Errorf("the view of a guest outside JavaScript: %+v", views)
	}
	if err := g.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.View(); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("View after Detach: %v", err)
	}
}

// quitGuest attaches a VM, with an Interrupt channel of its own (so that
// a forwarder runs), on a goroutine that then ends without Detach, and
// returns once it has.
func quitGuest(t *testing.T, w *suspend.World, name string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		vm := otto.New()
		vm.Interrupt = make(chan func(), 1)
		_, err := ottosuspend.Attach(w, vm, name)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// forwarders counts the goroutines forwarding an embedder's channel.
func forwarders() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "ottosuspend.(*forwarder).run")
}

// TestAbandonedGuestLeavesTheAdapter: a guest whose goroutine ended
// without Detach is removed by the world, and so from the adapter: the
// stop that finds it names it abandoned, every StopAll after it works,
// and Guests no longer lists it, nor any guest after Close. The adapter
// does not keep the guest alive, so the world also finds it by the
// garbage collector, which also ends its forwarder goroutine.
func TestAbandonedGuestLeavesTheAdapter(t *testing.T) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	base := forwarders()
	quitGuest(t, w, "quitter")
	var ste *suspend.StopTimeoutError
	if _, err := ottosuspend.StopAll(context.Background(), w); !errors.As(err, &ste) || len(ste.Abandoned) != 1 {
		t.Fatalf("the first StopAll: %v; want a timeout naming the quitter abandoned", err)
	}
	for i := range 3 {
		snap, err := ottosuspend.StopAll(context.Background(), w)
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
	if gs := ottosuspend.Guests(w); len(gs) != 0 {
		t.Errorf("Guests lists %d guests after the quitter was removed", len(gs))
	}

	// Found by the garbage collector, with nothing else to go by.
	quitGuest(t, w, "collected")
	for i := 0; ; i++ {
		runtime.GC()
		snap, err := ottosuspend.StopAll(context.Background(), w)
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
	for i := 0; forwarders() > base; i++ {
		if i == 100 {
			t.Fatalf("%d forwarders still run for abandoned guests", forwarders()-base)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if gs := ottosuspend.Guests(w); len(gs) != 0 {
		t.Errorf("Guests lists %d guests after Close", len(gs))
	}
}

// blockingRun runs fn on another goroutine while the calling goroutine,
// g's, waits in a blocking region.
func blockingRun(g *ottosuspend.Guest, fn func()) {
	safepoint.Blocking(g.Thread(), func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			fn()
		}()
		<-done
	})
}
