package luasuspend

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/safepoint"
)

// Builtin returns a Go function for Lua that runs ordinary Go code on Lua
// values, which does not wait. It polls on entry, and fails with a Lua
// error naming it when its state is not an attached guest's. A stop waits
// for fn to return to the interpreter: keep it short.
func Builtin(name string, fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		g := GuestOf(L)
		if g == nil {
			L.RaiseError("%s", notAttached(name))
			return 0
		}
		if g.inBlocking <= g.callbacks {
			safepoint.Poll(g.th)
		}
		return fn(L)
	}
}

// BlockingFunc is the Go side of a Blocking function: args are the Lua
// call's arguments, read from the Lua stack before the blocking region,
// and the results are pushed onto it after the region; an error becomes
// a Lua error. L is for Call and ThreadOf only: fn must not touch L's
// stack, nor anything else of the interpreter that a debugger or another
// guest may read while it waits (a table another guest shares, say).
type BlockingFunc func(L *lua.LState, args []lua.LValue) ([]lua.LValue, error)

// Blocking returns a Go function for Lua that waits: fn runs inside a
// blocking region, so a stop of the world or a debugger's Pause does not
// wait for it, and the guest parks when fn returns if it is stopped then.
// To call back into Lua, fn uses Call, which leaves the region for the
// callback. Lua code run otherwise (L.PCall, L.CallByParam) is caught at
// its first instruction and fails with an error that names Call.
//
// Guest.Context (not L.Context, the polling one) is the context to wait
// on.
func Blocking(name string, fn BlockingFunc) lua.LGFunction {
	return func(L *lua.LState) int {
		g := GuestOf(L)
		if g == nil {
			L.RaiseError("%s", notAttached(name))
			return 0
		}
		args := make([]lua.LValue, L.GetTop())
		for i := range args {
			args[i] = L.Get(i + 1)
		}
		var res []lua.LValue
		var err error
		if g.inBlocking > g.callbacks {
			// Called directly from another Blocking function's Go code,
			// which is in the region already.
			res, err = fn(L, args)
		} else {
			g.inBlocking++
			func() {
				defer func() { g.inBlocking-- }()
				safepoint.Blocking(g.th, func() { res, err = fn(L, args) })
			}()
		}
		if err != nil {
			L.RaiseError("%s: %v", name, err)
		}
		for _, v := range res {
			L.Push(v)
		}
		return len(res)
	}
}

// Call calls the Lua function fn with args, in protected mode, from Go
// code running on the guest's goroutine: a Builtin, a Blocking function
// (inside its region), or the embedder's own code. It is L.PCall with the
// guest in GC-unsafe mode for the callback (safepoint.EnterUnsafe,
// ExitUnsafe), so that a stop waits for the callback's code and parks it
// between two of its instructions. It returns fn's results.
func Call(L *lua.LState, fn lua.LValue, args ...lua.LValue) ([]lua.LValue, error) {
	g := GuestOf(L)
	if g == nil {
		return nil, fmt.Errorf("luasuspend.Call: %s", notAttached("the callback"))
	}
	c := safepoint.EnterUnsafe(g.th)
	g.callbacks++
	defer func() {
		g.callbacks--
		safepoint.ExitUnsafe(g.th, c)
	}()
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), lua.MultRet, nil); err != nil {
		return nil, err
	}
	res := make([]lua.LValue, L.GetTop()-top)
	for i := range res {
		res[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	return res, nil
}

func notAttached(name string) string {
	return fmt.Sprintf("%s: the Lua state is not attached to a world (luasuspend.Attach or Run)", name)
}
