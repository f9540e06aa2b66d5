package ottosuspend

import (
	"fmt"
	"path"
	"reflect"
	"runtime"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/safepoint"
)

// Builtin returns a Go function for JavaScript (for vm.Set) that runs
// ordinary Go code on JavaScript values, which does not wait. It polls on
// entry, and throws an Error naming it when its VM is not an attached
// guest's. A stop waits for fn to return to the interpreter: keep it
// short.
func Builtin(name string, fn func(otto.FunctionCall) otto.Value) func(otto.FunctionCall) otto.Value {
	return func(call otto.FunctionCall) otto.Value {
		g := guestOfCall(call, name)
		defer g.enterNative(name)()
		if g.inBlocking <= g.callbacks {
			safepoint.Poll(g.th)
		}
		return fn(call)
	}
}

// BlockingFunc is the Go side of a Blocking function. args are the
// call's arguments exported to Go values (otto.Value.Export: numbers are
// float64, objects maps, arrays slices), read before the blocking region;
// its result is converted with the VM's ToValue after the region, and its
// error is thrown as an Error "name: message". call is for Call only (a
// callback's function is call.Argument(i)): fn must not read or write the
// VM through it, nor through anything else, while it runs.
type BlockingFunc func(call otto.FunctionCall, args []any) (any, error)

// Blocking returns a Go function for JavaScript that waits: fn runs
// inside a blocking region, so a stop of the world or a debugger's Pause
// does not wait for it, and the guest parks when fn returns if it is
// stopped then. To call back into JavaScript fn uses Call, which leaves
// the region for the callback. JavaScript run otherwise from fn (the
// VM's Run or Call, a Value's Call) fails at its first node with an
// Error that names Call.
func Blocking(name string, fn BlockingFunc) func(otto.FunctionCall) otto.Value {
	return func(call otto.FunctionCall) otto.Value {
		g := guestOfCall(call, name)
		defer g.enterNative(name)()
		args := make([]any, len(call.ArgumentList))
		for i, a := range call.ArgumentList {
			v, err := a.Export()
			if err != nil { // otto v0.5.1's Export returns no error; a later one might
				panic(call.Otto.MakeCustomError("Error", fmt.Sprintf("%s: argument %d: %v", name, i+1, err)))
			}
			args[i] = v
		}
		var res any
		var err error
		if g.inBlocking > g.callbacks {
			// Called directly from another Blocking function's Go code,
			// which is in the region already.
			res, err = fn(call, args)
		} else {
			g.inBlocking++
			// A service waits in the channel, so that JavaScript run in
			// the region without Call is caught at its first node; if
			// none runs, the service polls at the next node after it.
			g.mb.offer()
			func() {
				defer func() { g.inBlocking-- }()
				safepoint.Blocking(g.th, func() { res, err = fn(call, args) })
			}()
		}
		if err != nil {
			panic(call.Otto.MakeCustomError("Error", fmt.Sprintf("%s: %v", name, err)))
		}
		v, err := call.Otto.ToValue(res)
		if err != nil {
			panic(call.Otto.MakeTypeError(fmt.Sprintf("%s: its result %T: %v", name, res, err)))
		}
		return v
	}
}

// Call calls the JavaScript function fn with this and args (converted
// with ToValue) from Go code running on the guest's goroutine: a Builtin,
// a Blocking function (inside its region), or the embedder's own code.
// It is fn.Call with the guest in GC-unsafe mode for the callback
// (safepoint.EnterUnsafe, ExitUnsafe), so that a stop waits for the
// callback's code and parks it between two of its nodes. Errors thrown by
// the callback are returned, as by fn.Call.
func Call(vm *otto.Otto, fn otto.Value, this otto.Value, args ...any) (otto.Value, error) {
	g := GuestOf(vm)
	if g == nil {
		return otto.Value{}, fmt.Errorf("ottosuspend.Call: %s", notAttached("the callback"))
	}
	c := safepoint.EnterUnsafe(g.th)
	g.callbacks++
	defer func() {
		g.callbacks--
		if g.inBlocking > g.callbacks {
			g.mb.offer() // back in the region: catch JavaScript run without Call again
		}
		safepoint.ExitUnsafe(g.th, c)
	}()
	return fn.Call(this, args...)
}

// enterNative records that the wrapper named name is running, for View,
// and returns what records its return.
func (g *Guest) enterNative(name string) func() {
	g.natives = append(g.natives, name)
	return func() { g.natives = g.natives[:len(g.natives)-1] }
}

// wrapperSites are the places otto gives as the Go file and line of the
// wrappers' functions: View names their frames after the wrapped
// function instead (Guest.natives).
var wrapperSites = map[Frame]bool{}

func init() {
	for _, f := range []func(otto.FunctionCall) otto.Value{Builtin("", nil), Blocking("", nil)} {
		// As otto's ToValue names a Go function.
		pc := reflect.ValueOf(f).Pointer()
		if fn := runtime.FuncForPC(pc); fn != nil {
			file, line := fn.FileLine(pc)
			wrapperSites[Frame{File: path.Base(file), Line: line, Native: true}] = true
		}
	}
}

// guestOfCall returns the guest of a native call's VM, or throws.
func guestOfCall(call otto.FunctionCall, name string) *Guest {
	g := GuestOf(call.Otto)
	if g == nil {
		panic(call.Otto.MakeCustomError("Error", notAttached(name)))
	}
	if call.Otto.Interrupt != g.mb.ch {
		panic(call.Otto.MakeCustomError("Error", fmt.Sprintf(
			"%s: vm.Interrupt was replaced while the VM is attached as guest %q, which stops it from polling: use Guest.SetInterrupt", name, g.name)))
	}
	return g
}

func notAttached(name string) string {
	return fmt.Sprintf("%s: the otto VM is not attached to a world (ottosuspend.Attach or Run)", name)
}
