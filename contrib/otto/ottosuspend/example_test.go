package ottosuspend_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// A debugger stops every JavaScript guest, reads where each one stands in
// its call stack (one of them inside a callback that a Go function made
// from a blocking region), and lets them all go on.
func ExampleStopAll() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	const src = `
function inner(k) {
  var t = 0;
  for (var i = 0; i < k; i++) { t += i % 7; }
  return t;
}
function outer() {
  ready();
  while (!done()) { inner(1000); }
}
`
	// viaGo waits a little outside the world's reach, then calls back.
	viaGo := ottosuspend.Blocking("viaGo", func(call otto.FunctionCall, _ []any) (any, error) {
		time.Sleep(time.Millisecond)
		return ottosuspend.Call(call.Otto, call.Argument(0), otto.UndefinedValue())
	})
	stop := make(chan struct{})
	running := make(chan struct{}, 2)
	results := make(chan error, 2)
	for _, name := range []string{"job-1", "job-2"} {
		go func() {
			vm := otto.New()
			vm.Set("ready", func(otto.FunctionCall) otto.Value { running <- struct{}{}; return otto.UndefinedValue() })
			vm.Set("done", func(otto.FunctionCall) otto.Value {
				select {
				case <-stop:
					return otto.TrueValue()
				default:
					return otto.FalseValue()
				}
			})
			vm.Set("viaGo", viaGo)
			results <- ottosuspend.Run(w, vm, name, func(*ottosuspend.Guest) error {
				main := "outer();"
				if name == "job-2" {
					main = "viaGo(outer);"
				}
				script, err := vm.Compile(name+".js", src+main)
				if err != nil {
					return err
				}
				_, err = vm.Run(script)
				return err
			})
		}()
	}
	<-running
	<-running

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := ottosuspend.StopAll(ctx, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	views := snap.Guests
	slices.SortFunc(views, func(a, b ottosuspend.View) int { return strings.Compare(a.Name, b.Name) })
	for _, v := range views {
		// The frames down to outer; below it the guest is in inner or
		// between two calls, wherever the stop found it (v.Stack's last
		// frame, and v.Where(), say exactly).
		var names []string
		for _, f := range v.Stack {
			switch {
			case f.Function == "":
				names = append(names, "(top level of "+f.File+")")
			case f.Native:
				names = append(names, f.Function+" (Go)")
			default:
				names = append(names, f.Function)
			}
			if f.Function == "outer" {
				break
			}
		}
		fmt.Println(v.Name+":", strings.Join(names, " > "))
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
	// job-1: (top level of job-1.js) > outer
	// job-2: (top level of job-2.js) > viaGo (Go) > outer
}
