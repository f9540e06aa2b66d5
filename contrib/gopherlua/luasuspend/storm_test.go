package luasuspend_test

import (
	"fmt"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// stormGuests are the programs of TestNoProgressWhileStopped's guests:
// each counts in its global n, in the main state, in coroutines, and
// between Blocking sleeps and Lua callbacks made through Call.
var stormGuests = []struct{ name, src string }{
	{"main", `ready() loop()`},
	{"wrap", `ready() coroutine.wrap(function() loop() end)()`},
	{"yielding", `
ready()
local co = coroutine.create(function()
  while true do
    for i = 1, 50 do n = n + 1 end
    coroutine.yield()
  end
end)
while not done() do assert(coroutine.resume(co)) end`},
	{"blocking", `
ready()
while not done() do
  nap(function() for i = 1, 50 do n = n + 1 end end)
  for i = 1, 50 do n = n + 1 end
end`},
}

// TestNoProgressWhileStopped: four guests, counting in Lua code of every
// kind (a loop, a loop inside a coroutine, a coroutine resumed over and
// over, Blocking sleeps that call back into Lua), under a stop storm, per
// policy: at every stop, every guest is held and no guest's counter moves
// while the world stays stopped; and every guest makes progress between
// stops.
func TestNoProgressWhileStopped(t *testing.T) {
	duration := time.Second
	if testing.Short() {
		duration = 500 * time.Millisecond
	}
	nap := luasuspend.Blocking("nap", func(L *lua.LState, args []lua.LValue) ([]lua.LValue, error) {
		time.Sleep(20 * time.Microsecond)
		return luasuspend.Call(L, args[0])
	})
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			stop := make(chan struct{})
			var guests []*luasuspend.Guest
			var dones []<-chan error
			for _, sg := range stormGuests {
				g, done := startGuest(t, w, sg.name, sg.src, stop, func(L *lua.LState) {
					L.SetGlobal("nap", L.NewFunction(nap))
				})
				guests = append(guests, g)
				dones = append(dones, done)
			}
			// Progress between stops: the counters at the last stop.
			last := make([]float64, len(guests))
			moved := make([]int, len(guests))
			frozen := func(*suspend.Stopped) error {
				listed := luasuspend.Guests(w)
				if len(listed) != len(guests) {
					return fmt.Errorf("the world has %d guests, want %d", len(listed), len(guests))
				}
				before := make([]float64, len(guests))
				for i, g := range guests {
					if _, err := g.View(); err != nil {
						return err
					}
					before[i] = counter(g)
				}
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
				return nil
			}
			storm := suspendtest.RunStorm(t, w, suspendtest.StormConfig{Check: frozen})
			select {
			case <-time.After(duration):
			case <-storm.Done():
			}
			// A loaded machine makes fewer stops in the time: go on until
			// there are 5 (or the storm has failed), within a bound.
			for giveUp := time.Now().Add(2 * time.Minute); w.Stats().Stops < 5 && time.Now().Before(giveUp); {
				select {
				case <-storm.Done():
					giveUp = time.Now()
				case <-time.After(10 * time.Millisecond):
				}
			}
			rep, err := storm.End()
			close(stop)
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
			t.Logf("%v; stops after which each guest had moved: %v", rep, moved)
		})
	}
}
