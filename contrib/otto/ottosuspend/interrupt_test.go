package ottosuspend_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// record is what the embedder's funcs write when they run: their number
// and the goroutine they run on. Written on the guest's goroutine, read
// after it ends.
type record struct {
	order []int
	goids map[uint64]int
}

func (r *record) fn(i int) func() {
	return func() {
		r.order = append(r.order, i)
		r.goids[goid.Current()]++
	}
}

// TestEmbedderInterruptsRun: the embedder's own use of vm.Interrupt keeps
// working while the VM is a guest under a stop storm, under every
// policy. Funcs sent on the embedder's own channel (forwarded), on
// vm.Interrupt itself (the guest's channel: blocking sends, which fill it
// and make the nudges take them out of the way), and with
// Guest.Interrupt from several goroutines all run, each exactly once, on
// the guest's goroutine, those of one sender in the order sent (except
// those sent on vm.Interrupt itself: see Guest.Interrupt); and every stop
// of the storm completes.
func TestEmbedderInterruptsRun(t *testing.T) {
	const perSender = 200
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			own := make(chan func(), 1)
			rec := &record{goids: map[uint64]int{}}
			guestG := make(chan uint64, 1)
			g, done := startGuest(t, w, "interrupted", "ready(); loop();", stop, func(vm *otto.Otto) {
				vm.Interrupt = own
				guestG <- goid.Current()
			})
			storm := suspendtest.StartStorm(w, suspendtest.StormConfig{})
			field := g.VM().Interrupt // the guest's channel; read after Attach, ordered by startGuest
			var wg sync.WaitGroup
			senders := []func(i int){
				func(i int) { own <- rec.fn(i) },
				func(i int) { field <- rec.fn(perSender + i) },
				func(i int) { must(g.Interrupt(rec.fn(2*perSender + i))) },
				func(i int) { must(g.Interrupt(rec.fn(3*perSender + i))) },
			}
			for _, send := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perSender {
						send(i)
						if i%2 == 0 { // spread over a few hundred stops
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
			wg.Wait()
			// Each func has been handed over; the last ones run at the
			// guest's next nodes.
			ran := make(chan struct{})
			must(g.Interrupt(func() { close(ran) }))
			select {
			case <-ran:
			case <-time.After(30 * time.Second):
				t.Fatal("the guest did not run the funcs")
			}
			rep, err := storm.End()
			close(stop)
			if derr := <-done; derr != nil {
				t.Fatal(derr)
			}
			if err != nil {
				t.Fatal(err)
			}
			me := <-guestG
			if len(rec.goids) != 1 || rec.goids[me] == 0 {
				t.Errorf("the funcs ran on goroutines %v; the guest's is %d", rec.goids, me)
			}
			if len(rec.order) != len(senders)*perSender {
				t.Fatalf("%d funcs ran, want %d", len(rec.order), len(senders)*perSender)
			}
			for s := range senders {
				var mine []int
				for _, i := range rec.order {
					if i/perSender == s {
						mine = append(mine, i)
					}
				}
				if s == 1 {
					// Sent on vm.Interrupt itself: each runs once, but a
					// nudge that found the channel full may have let one
					// run before an earlier one.
					slices.Sort(mine)
				}
				// perSender funcs, strictly increasing: each once, in order.
				if len(mine) != perSender || !slices.IsSorted(mine) || len(slices.Compact(slices.Clone(mine))) != perSender {
					t.Errorf("sender %d's funcs ran %d times, in the order %v", s, len(mine), mine)
				}
			}
			t.Logf("%v", rep)
		})
	}
}

// TestInterruptGivenBack: at Detach the VM gets the embedder's channel
// back, with the funcs that were sent while attached and did not run
// (taken by the forwarder, sent with Guest.Interrupt, still in the
// embedder's channel): they run, in order, at the next run without the
// adapter, as they would have without it. With WithoutForwarding the
// embedder's channel is not read while attached. Without a channel of
// its own the VM gets none back. SetInterrupt changes the channel that is
// forwarded and given back.
func TestInterruptGivenBack(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	// runAll runs enough nodes for every waiting func to run, on a VM
	// that is not attached.
	runAll := func(t *testing.T, vm *otto.Otto) {
		t.Helper()
		if _, err := vm.Run("for (var i = 0; i < 1000; i++) {}"); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("forwarded", func(t *testing.T) {
		vm := otto.New()
		own := make(chan func(), 1) // room for one: the rest go back from a goroutine
		// 0, 1 and 2 are sent on the embedder's channel, 3 with
		// Guest.Interrupt, then 4 on the channel again.
		vm.Interrupt = own
		rec := &record{goids: map[uint64]int{}}
		var g *ottosuspend.Guest
		if err := ottosuspend.Run(w, vm, "forwarded", func(gg *ottosuspend.Guest) error {
			g = gg
			for i := range 3 {
				own <- rec.fn(i) // the forwarder takes them: no JavaScript runs
			}
			must(g.Interrupt(rec.fn(3)))
			own <- rec.fn(4) // may still be in the channel at Detach
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if vm.Interrupt != own {
			t.Fatal("the VM did not get its channel back")
		}
		if len(rec.order) != 0 {
			t.Fatalf("funcs ran outside JavaScript: %v", rec.order)
		}
		runAll(t, vm)
		// The forwarder had taken 0 and 1 when the third send
		// completed; 2 and 4, sent on the embedder's channel, run in
		// that order, and 3 somewhere after 1.
		i2, i4 := slices.Index(rec.order, 2), slices.Index(rec.order, 4)
		if len(rec.order) != 5 || !slices.Equal(rec.order[:2], []int{0, 1}) || i2 < 0 || i4 < i2 || !slices.Contains(rec.order, 3) {
			t.Errorf("after Detach the funcs ran as %v, want 0 1, then 2 before 4, and 3", rec.order)
		}
	})
	t.Run("without-forwarding", func(t *testing.T) {
		vm := otto.New()
		own := make(chan func(), 4)
		vm.Interrupt = own
		rec := &record{goids: map[uint64]int{}}
		if err := ottosuspend.Run(w, vm, "unforwarded", func(*ottosuspend.Guest) error {
			own <- rec.fn(0)
			own <- rec.fn(1)
			_, err := vm.Run("for (var i = 0; i < 1000; i++) {}")
			return err
		}, ottosuspend.WithoutForwarding()); err != nil {
			t.Fatal(err)
		}
		if len(rec.order) != 0 || len(own) != 2 {
			t.Fatalf("the embedder's channel was read while attached without forwarding: ran %v, %d left", rec.order, len(own))
		}
		runAll(t, vm)
		if !slices.Equal(rec.order, []int{0, 1}) {
			t.Errorf("after Detach the funcs ran as %v", rec.order)
		}
	})
	t.Run("no-channel", func(t *testing.T) {
		vm := otto.New()
		ran := false
		if err := ottosuspend.Run(w, vm, "none", func(g *ottosuspend.Guest) error {
			return g.Interrupt(func() { ran = true })
		}); err != nil {
			t.Fatal(err)
		}
		if vm.Interrupt != nil || ran {
			t.Errorf("after Detach: Interrupt %v, func ran %v; want none, not run", vm.Interrupt, ran)
		}
	})
	t.Run("set-interrupt", func(t *testing.T) {
		vm := otto.New()
		first, second := make(chan func(), 1), make(chan func(), 1)
		vm.Interrupt = first
		rec := &record{goids: map[uint64]int{}}
		if err := ottosuspend.Run(w, vm, "set", func(g *ottosuspend.Guest) error {
			if err := g.SetInterrupt(second); err != nil {
				return err
			}
			if g.OwnInterrupt() != second {
				return fmt.Errorf("OwnInterrupt is not the channel set")
			}
			first <- rec.fn(0) // not forwarded any more
			second <- rec.fn(1)
			deadline := time.Now().Add(10 * time.Second)
			must(vm.Set("seen", func(otto.FunctionCall) otto.Value {
				b := len(rec.order) > 0 || time.Now().After(deadline)
				return mustValue(otto.ToValue(b))
			}))
			_, err := vm.Run("while (!seen()) {}")
			if err != nil {
				return err
			}
			if !slices.Equal(rec.order, []int{1}) {
				return fmt.Errorf("while attached the funcs ran as %v, want the second channel's", rec.order)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if vm.Interrupt != second || len(first) != 1 {
			t.Errorf("after Detach: Interrupt is the second channel %v, the first still holds its func %v", vm.Interrupt == second, len(first) == 1)
		}
	})
}
