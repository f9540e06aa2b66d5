package starsuspend

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/safepoint"
)

// BuiltinFunc is the Go side of a starlark builtin.
type BuiltinFunc = func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Builtin returns a builtin for ordinary Go code that touches starlark
// values and does not wait. It polls on entry, so a stop that arrived
// during a long run of builtin calls (which count few steps) is honoured
// before the call, and fails with an error naming it when its thread is
// not an attached guest.
func Builtin(name string, fn BuiltinFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(st *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		g := GuestOf(st)
		if g == nil {
			return nil, notAttached(b)
		}
		if g.inBlocking <= g.callbacks {
			g.poll()
		}
		return fn(st, b, args, kwargs)
	})
}

// Blocking returns a builtin for Go code that waits: fn runs inside a
// blocking region, so a stop of the world or a debugger's pause does not
// wait for it, and the guest parks when fn returns if it is stopped then.
//
// While it waits, fn must not touch starlark state another guest or the
// debugger may read (a shared dict, a global); its arguments are its own.
// To call back into starlark it uses Call, which leaves the region for
// the callback. A plain starlark.Call there is caught at its first step:
// the thread is cancelled with an error that names Call.
func Blocking(name string, fn BuiltinFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(st *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		g := GuestOf(st)
		if g == nil {
			return nil, notAttached(b)
		}
		if g.inBlocking > g.callbacks {
			// A Blocking builtin called from a Blocking builtin (through
			// b.CallInternal or starlark.Call) is already in the region.
			return fn(st, b, args, kwargs)
		}
		g.inBlocking++
		g.schedule()
		defer func() {
			g.inBlocking--
			g.schedule()
		}()
		call := func() { v, err = fn(st, b, args, kwargs) }
		if g.task != nil {
			g.task.Blocking(call)
		} else {
			safepoint.Blocking(g.th, call)
		}
		return v, err
	})
}

// Call calls the starlark callable fn from Go code running on st's
// goroutine: a Builtin, a Blocking builtin (inside its region), or the
// embedder's own code. It is starlark.Call with the guest in GC-unsafe
// mode for the callback (safepoint.EnterUnsafe, ExitUnsafe), so that a
// stop waits for the callback's code and parks it at its polls.
func Call(st *starlark.Thread, fn starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := GuestOf(st)
	if g == nil {
		return nil, fmt.Errorf("starsuspend.Call: starlark thread %q is not attached to a world", st.Name)
	}
	if g.task != nil {
		if g.inBlocking > g.callbacks {
			return nil, fmt.Errorf("starsuspend.Call: guest %q is a task guest inside a Blocking builtin, whose call runs off its coroutine: it cannot call back into starlark there", g.name)
		}
		return starlark.Call(st, fn, args, kwargs)
	}
	c := safepoint.EnterUnsafe(g.th)
	g.callbacks++
	g.schedule()
	defer func() {
		g.callbacks--
		g.schedule()
		safepoint.ExitUnsafe(g.th, c)
	}()
	return starlark.Call(st, fn, args, kwargs)
}

func notAttached(b *starlark.Builtin) error {
	return fmt.Errorf("%s: the starlark thread is not attached to a world (starsuspend.Attach or Run)", b.Name())
}
