package ottosuspend_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// stormGuests are the programs of TestNoProgressWhileStopped's guests:
// each counts in its global n: in a plain loop; in calls, recursion,
// closures called by otto's own Array.prototype.forEach, and exceptions;
// between Blocking sleeps that call back into JavaScript through Call;
// and while the embedder's funcs arrive on its own Interrupt channel.
var stormGuests = []struct{ name, src string }{
	{"loop", `ready(); loop();`},
	{"calls", `
ready();
function fib(k) { return k < 2 ? k : fib(k - 1) + fib(k - 2); }
while (!done()) {
  try {
    var o = { a: [1, 2, 3] };
    o.a.forEach(function (x) { n += x; });
    fib(6);
    n++;
    if (n % 100 === 0) { throw new Error("round"); }
  } catch (e) {
    n++;
  }
}`},
	{"blocking", `
ready();
while (!done()) {
  nap(function () { for (var i = 0; i < 50; i++) { n++; } });
  for (var i = 0; i < 50; i++) { n++; }
}`},
	{"interrupted", `ready(); loop();`},
}

// TestNoProgressWhileStopped: four guests, counting in JavaScript of
// every kind (see stormGuests), one of them also running the embedder's
// Interrupt funcs (which count ticks), under a stop storm, per policy:
// at every stop, every guest is held and readable (View), and no guest's
// counter, nor the ticks, moves while the world stays stopped; every
// guest makes progress between stops.
func TestNoProgressWhileStopped(t *testing.T) {
	duration := time.Second
	if testing.Short() {
		duration = 300 * time.Millisecond
	}
	nap := ottosuspend.Blocking("nap", func(call otto.FunctionCall, _ []any) (any, error) {
		time.Sleep(20 * time.Microsecond)
		return ottosuspend.Call(call.Otto, call.Argument(0), otto.UndefinedValue())
	})
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			var guests []*ottosuspend.Guest
			var dones []<-chan error
			ticks := 0 // written by the embedder's funcs, on the guest's goroutine
			own := make(chan func(), 1)
			for _, sg := range stormGuests {
				g, done := startGuest(t, w, sg.name, sg.src, stop, func(vm *otto.Otto) {
					must(vm.Set("nap", nap))
					if sg.name == "interrupted" {
						vm.Interrupt = own
					}
				})
				guests = append(guests, g)
				dones = append(dones, done)
			}
			sent := make(chan int)
			go func() { // the embedder's ticker
				n := 0
				defer func() { sent <- n }()
				for {
					select {
					case own <- func() { ticks++ }:
						n++
					case <-stop:
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
			}()
			last := make([]float64, len(guests))
			moved := make([]int, len(guests))
			lastTicks, tickMoves := 0, 0
			frozen := func(*suspend.Stopped) error {
				if listed := ottosuspend.Guests(w); len(listed) != len(guests) {
					return fmt.Errorf("the world has %d guests, want %d", len(listed), len(guests))
				}
				before := make([]float64, len(guests))
				for i, g := range guests {
					if _, err := g.View(); err != nil {
						return err
					}
					before[i] = counter(g)
				}
				tk := ticks
				time.Sleep(50 * time.Microsecond)
				for i, g := range guests {
					if after := counter(g); after != before[i] {
						return fmt.Errorf("guest %s's counter moved from %v to %v while the world was stopped", g.Name(), before[i], after)
					}
					if before[i] != last[i] {
						moved[i]++
					}
					last[i] = before[i]
				}
				if ticks != tk {
					return fmt.Errorf("the embedder's funcs ran while the world was stopped: ticks %d, then %d", tk, ticks)
				}
				if tk != lastTicks {
					tickMoves++
				}
				lastTicks = tk
				return nil
			}
			storm := suspendtest.RunStorm(t, w, suspendtest.StormConfig{Check: frozen})
			select {
			case <-time.After(duration):
			case <-storm.Done():
			}
			rep, err := storm.End()
			close(stop)
			nsent := <-sent
			for _, d := range dones {
				if err := <-d; err != nil {
					t.Error(err)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Stops < 5 {
				t.Fatalf("%d stops: nothing was tested", rep.Stops)
			}
			for i, g := range guests {
				if moved[i] == 0 {
					t.Errorf("guest %s made no progress between %d stops", g.Name(), rep.Stops)
				}
			}
			if tickMoves == 0 {
				t.Errorf("the embedder's funcs made no progress between %d stops", rep.Stops)
			}
			t.Logf("%v; stops after which each guest had moved: %v; %d of %d embedder funcs ran, ticks moved after %d stops", rep, moved, ticks, nsent, tickMoves)
		})
	}
}
