package luasuspend_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// A debugger stops every Lua guest, reads where each one stands in its
// call stack (one of them inside a coroutine), and lets them all go on.
func ExampleStopAll() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	const src = `
local function inner(n)
  local t = 0
  for i = 1, n do t = t + i % 7 end
  return t
end

function outer()
  ready()
  while not done() do inner(1000) end
end
`
	stop := make(chan struct{})
	running := make(chan struct{}, 2)
	results := make(chan error, 2)
	for _, name := range []string{"job-1", "job-2"} {
		go func() {
			L := lua.NewState()
			defer L.Close()
			L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int { running <- struct{}{}; return 0 }))
			L.SetGlobal("done", L.NewFunction(func(L *lua.LState) int {
				select {
				case <-stop:
					L.Push(lua.LTrue)
				default:
					L.Push(lua.LFalse)
				}
				return 1
			}))
			results <- luasuspend.Run(w, L, name, func(*luasuspend.Guest) error {
				main := "outer()"
				if name == "job-2" {
					main = "local co = coroutine.wrap(outer)\nco()"
				}
				return L.DoString(src + main)
			})
		}()
	}
	<-running
	<-running

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := luasuspend.StopAll(ctx, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	views := snap.Guests
	slices.SortFunc(views, func(a, b luasuspend.View) int { return strings.Compare(a.Name, b.Name) })
	for _, v := range views {
		// The main state's frames, down to outer (job-1), or to the
		// call of the coroutine, a Go function (job-2). Below that the
		// guest is in inner or between two calls, wherever the stop
		// found it (v.Where() says exactly).
		var names []string
		for _, f := range v.Stack {
			if f.Coroutine > 0 {
				break
			}
			names = append(names, f.Function)
			if f.Function == "outer" {
				break
			}
		}
		fmt.Println(v.Name, strings.Join(names, " > "), "coroutines:", v.Coroutines)
	}
	if err := snap.Restart(); err != nil {
		fmt.Println(err)
	}

	close(stop)
	for range 2 {
		if err := <-results; err != nil {
			fmt.Println(err)
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// job-1 main chunk > outer coroutines: 0
	// job-2 main chunk > co coroutines: 1
}
