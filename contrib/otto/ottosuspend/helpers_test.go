package ottosuspend_test

import (
	"testing"
	"time"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// policies are the policies every storm test runs under.
var policies = []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive}

// spinSrc defines spin(k), a CPU-bound loop, and loop(), which counts in
// the global n until the Go function done() says to stop: the guest's
// progress is n, readable while it is stopped.
const spinSrc = `
function spin(k) {
  var t = 0;
  for (var i = 0; i < k; i++) {
    t = t + (i * 2) % 7;
  }
  return t;
}

var n = 0;
function loop() {
  while (!done()) {
    for (var i = 0; i < 100; i++) { n = n + 1; }
  }
}
`

// newVM returns a VM with spinSrc loaded and done() bound to stop (a nil
// stop: never done).
func newVM(stop <-chan struct{}) *otto.Otto {
	vm := otto.New()
	must(vm.Set("done", func(otto.FunctionCall) otto.Value {
		select {
		case <-stop:
			return otto.TrueValue()
		default:
			return otto.FalseValue()
		}
	}))
	if _, err := vm.Run(spinSrc); err != nil {
		panic(err)
	}
	return vm
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// global reads a number from vm's globals; call it while the guest is
// held, or on its goroutine.
func global(vm *otto.Otto, name string) float64 {
	v, err := vm.Get(name)
	if err != nil {
		panic(err)
	}
	f, err := v.ToFloat()
	if err != nil {
		panic(err)
	}
	return f
}

// counter reads the guest's global n; call it while the guest is held.
func counter(g *ottosuspend.Guest) float64 { return global(g.VM(), "n") }

// startGuest runs src on a new attached VM on its own goroutine and
// returns the guest once it has started, and a channel with Run's error.
// The JavaScript in src calls ready() once it is under way.
func startGuest(t *testing.T, w *suspend.World, name, src string, stop <-chan struct{}, setup func(*otto.Otto), opts ...ottosuspend.Option) (*ottosuspend.Guest, <-chan error) {
	t.Helper()
	attached := make(chan *ottosuspend.Guest, 1)
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		vm := newVM(stop)
		must(vm.Set("ready", func(otto.FunctionCall) otto.Value {
			select {
			case ready <- struct{}{}:
			default:
			}
			return otto.UndefinedValue()
		}))
		if setup != nil {
			setup(vm)
		}
		done <- ottosuspend.Run(w, vm, name, func(g *ottosuspend.Guest) error {
			attached <- g
			_, err := vm.Run(src)
			return err
		}, opts...)
	}()
	var g *ottosuspend.Guest
	select {
	case g = <-attached:
	case err := <-done:
		t.Fatalf("guest %s ended before it attached: %v", name, err)
	}
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("guest %s ended before it was ready: %v", name, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("guest %s did not start", name)
	}
	return g, done
}

// mustValue returns v, or panics with err.
func mustValue(v otto.Value, err error) otto.Value {
	must(err)
	return v
}
