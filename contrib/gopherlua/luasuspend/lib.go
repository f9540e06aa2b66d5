package luasuspend

import (
	"os"
	"reflect"
	"runtime"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/safepoint"
)

// The functions of gopher-lua's standard library that Attach replaces:
// where they live, and what replaces them. Each is replaced only if it
// is still gopher-lua's own (the same code as a fresh state's), and put
// back by Detach if it is still the replacement.
//
// The coroutine functions make every coroutine thread poll. The others
// wait (for Go's collector, a process, a channel) in GC-unsafe mode,
// where a stop would wait for them too, for as long as they wait: the
// replacements do the same waiting inside a blocking region.
type libFunc struct {
	lib, name string // lib: a module of package.loaded, "_G" for the globals, "channel:" for the channel methods
	blocking  bool   // one of the waiting ones (WithoutBlockingLibrary)
	replace   func(orig lua.LGFunction) lua.LGFunction
}

var libFuncs = []libFunc{
	{lib: lua.CoroutineLibName, name: "create", replace: adoptingCreate},
	{lib: lua.CoroutineLibName, name: "wrap", replace: adoptingWrap},
	{lib: lua.CoroutineLibName, name: "resume", replace: adoptingResume},
	{lib: "_G", name: "collectgarbage", blocking: true, replace: func(lua.LGFunction) lua.LGFunction { return collectGarbage }},
	{lib: lua.OsLibName, name: "execute", blocking: true, replace: func(lua.LGFunction) lua.LGFunction { return osExecute }},
	{lib: lua.ChannelLibName, name: "select", blocking: true, replace: func(lua.LGFunction) lua.LGFunction { return channelSelect }},
	{lib: "channel:", name: "receive", blocking: true, replace: func(lua.LGFunction) lua.LGFunction { return channelReceive }},
	{lib: "channel:", name: "send", blocking: true, replace: func(lua.LGFunction) lua.LGFunction { return channelSend }},
}

// stdlib holds the code pointers of gopher-lua's own versions of
// libFuncs, from a fresh state, by index.
var stdlib struct {
	once sync.Once
	code []uintptr
}

func codeOf(fn lua.LGFunction) uintptr { return reflect.ValueOf(fn).Pointer() }

// libTables returns the tables a libFunc may be in: the module in
// package.loaded and the global of the same name when it is another
// table; the globals; or the channel type's metatable.
func libTables(L *lua.LState, lib string) []*lua.LTable {
	var out []*lua.LTable
	add := func(v lua.LValue) {
		if tb, ok := v.(*lua.LTable); ok {
			for _, x := range out {
				if x == tb {
					return
				}
			}
			out = append(out, tb)
		}
	}
	switch lib {
	case "_G":
		add(L.G.Global)
	case "channel:":
		add(L.GetMetatable(lua.LChannel(nil)))
	default:
		if loaded, ok := L.G.Registry.RawGetString("_LOADED").(*lua.LTable); ok {
			add(loaded.RawGetString(lib))
		}
		add(L.G.Global.RawGetString(lib))
	}
	return out
}

// ownFunc returns the Go function of v if it is gopher-lua's own version
// of libFuncs[i].
func ownFunc(v lua.LValue, i int) (lua.LGFunction, bool) {
	fn, ok := v.(*lua.LFunction)
	if !ok || !fn.IsG || fn.GFunction == nil {
		return nil, false
	}
	stdlib.once.Do(func() {
		ref := lua.NewState()
		defer ref.Close()
		stdlib.code = make([]uintptr, len(libFuncs))
		for i, lf := range libFuncs {
			for _, tb := range libTables(ref, lf.lib) {
				if f, ok := tb.RawGetString(lf.name).(*lua.LFunction); ok && f.IsG {
					stdlib.code[i] = codeOf(f.GFunction)
				}
			}
		}
	})
	c := stdlib.code[i]
	return fn.GFunction, c != 0 && codeOf(fn.GFunction) == c
}

// patchLibraries replaces the library functions cfg asks for.
func (g *Guest) patchLibraries(cfg config) {
	for i, lf := range libFuncs {
		if lf.blocking && !cfg.blocking || !lf.blocking && !cfg.coroutines {
			continue
		}
		for _, tb := range libTables(g.L, lf.lib) {
			orig := tb.RawGetString(lf.name)
			fn, ok := ownFunc(orig, i)
			if !ok {
				continue // not gopher-lua's (the embedder's own?): leave it alone
			}
			ours := g.L.NewFunction(lf.replace(fn))
			tb.RawSetString(lf.name, ours)
			g.patched = append(g.patched, patch{tb: tb, name: lf.name, orig: orig, ours: ours})
		}
	}
}

// waiting runs fn, which waits and touches no Lua state, inside a
// blocking region of L's guest; directly when L is not attached (Lua code
// may keep a replacement past Detach) or is in a region already.
func waiting(L *lua.LState, fn func()) {
	g := GuestOf(L)
	if g == nil || g.inBlocking > g.callbacks {
		fn()
		return
	}
	g.inBlocking++
	defer func() { g.inBlocking-- }()
	safepoint.Blocking(g.th, fn)
}

// collectGarbage is gopher-lua's collectgarbage (a runtime.GC, whatever
// the arguments, with no results), in a blocking region: a full
// collection takes milliseconds, and touches no Lua state.
func collectGarbage(L *lua.LState) int {
	waiting(L, runtime.GC)
	return 0
}

// osExecute is gopher-lua's os.execute: the command line runs in the
// system's shell, with the process's standard files, and the result is 0
// when it succeeds, 1 otherwise. It waits for the process in a blocking
// region.
func osExecute(L *lua.LState) int {
	line := L.CheckString(1)
	shell, flag := "/bin/sh", "-c"
	if lua.LuaOS == "windows" {
		shell, flag = `C:\Windows\system32\cmd.exe`, "/c"
	}
	code := 1
	waiting(L, func() {
		p, err := os.StartProcess(shell, []string{shell, flag, line}, &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
		if err != nil {
			return
		}
		if ps, err := p.Wait(); err == nil && ps.Success() {
			code = 0
		}
	})
	L.Push(lua.LNumber(code))
	return 1
}

// goroutineSafe reports whether v may go through a channel: gopher-lua's
// rule (no functions, userdata, threads, or tables with a metatable).
func goroutineSafe(v lua.LValue) bool {
	switch x := v.(type) {
	case *lua.LFunction, *lua.LUserData, *lua.LState:
		return false
	case *lua.LTable:
		return x.Metatable == lua.LNil
	}
	return true
}

// done returns the channel that L's context closes, or nil (never) when
// it has none, as gopher-lua's channel functions wait on it.
func done(L *lua.LState) <-chan struct{} {
	if ctx := L.Context(); ctx != nil {
		return ctx.Done()
	}
	return nil
}

// channelReceive is ch:receive(): it returns true and a value, or false
// and nil when the channel is closed or the state's context is done. It
// waits in a blocking region.
func channelReceive(L *lua.LState) int {
	ch := L.CheckChannel(1)
	cancelled := done(L)
	var v lua.LValue
	var ok bool
	waiting(L, func() {
		select {
		case <-cancelled:
		case v, ok = <-ch:
		}
	})
	if !ok || v == nil {
		v = lua.LNil
	}
	L.Push(lua.LBool(ok))
	L.Push(v)
	return 2
}

// channelSend is ch:send(v). It waits in a blocking region.
func channelSend(L *lua.LState) int {
	ch := L.CheckChannel(1)
	v := L.CheckAny(2)
	if !goroutineSafe(v) {
		L.ArgError(2, "can not send a function, userdata, thread or table that has a metatable")
	}
	waiting(L, func() { ch <- v })
	return 0
}

// channelSelect is channel.select(case, ...), each case a table {"|<-",
// ch[, fn]} (receive), {"<-|", ch, v[, fn]} (send) or {"default"[, fn]}.
// It waits for one case, or for the state's context, in a blocking
// region; then it calls the case's function, if any (with ok and the
// value received, the value sent, or nothing), and returns the case's
// number, the value received and ok; nothing when the context is done.
func channelSelect(L *lua.LState) int {
	n := L.GetTop()
	cases := make([]reflect.SelectCase, n, n+1)
	for i := range cases {
		tb := L.CheckTable(i + 1)
		dir, ok := tb.RawGetInt(1).(lua.LString)
		if !ok {
			L.ArgError(i+1, "invalid select case")
		}
		switch dir {
		case "<-|", "|<-":
			ch, ok := tb.RawGetInt(2).(lua.LChannel)
			if !ok {
				L.ArgError(i+1, "invalid select case")
			}
			cases[i].Chan = reflect.ValueOf((chan lua.LValue)(ch))
			if dir == "|<-" {
				cases[i].Dir = reflect.SelectRecv
				break
			}
			v := tb.RawGetInt(3)
			if !goroutineSafe(v) {
				L.ArgError(i+1, "can not send a function, userdata, thread or table that has a metatable")
			}
			cases[i].Dir, cases[i].Send = reflect.SelectSend, reflect.ValueOf(v)
		case "default":
			cases[i].Dir = reflect.SelectDefault
		default:
			L.ArgError(i+1, "invalid channel direction:"+string(dir))
		}
	}
	if L.Context() != nil {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done(L))})
	}
	var chosen int
	var recv reflect.Value
	var ok bool
	waiting(L, func() { chosen, recv, ok = reflect.Select(cases) })
	if chosen == n {
		return 0 // the context is done
	}
	v := lua.LNil
	if recv.IsValid() {
		if x, _ := recv.Interface().(lua.LValue); x != nil {
			v = x
		}
	}
	tb := L.Get(chosen + 1).(*lua.LTable)
	if fn := tb.RawGetInt(tb.Len()); fn.Type() == lua.LTFunction {
		L.Push(fn)
		switch cases[chosen].Dir {
		case reflect.SelectRecv:
			L.Push(lua.LBool(ok))
			L.Push(v)
			L.Call(2, 0)
		case reflect.SelectSend:
			L.Push(tb.RawGetInt(3))
			L.Call(1, 0)
		default:
			L.Call(0, 0)
		}
	}
	L.Push(lua.LNumber(chosen + 1))
	L.Push(v)
	L.Push(lua.LBool(ok))
	return 3
}
