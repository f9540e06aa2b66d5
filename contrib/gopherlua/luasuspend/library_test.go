package luasuspend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// channelPrograms exercise the channel functions the adapter replaces
// (select, receive, send), their results and their errors; each leaves
// its outcome in the global out. They run with the guest's own values:
// ch (capacity 4) and a closed channel closed.
var channelPrograms = []struct{ name, src string }{
	{"send-receive", `
ch:send(1) ch:send("two") ch:send({3})
local ok1, a = ch:receive()
local ok2, b = ch:receive()
local ok3, c = ch:receive()
out = tostring(ok1) .. a .. tostring(ok2) .. b .. tostring(ok3) .. c[1]`},
	{"receive-closed", `
local ok, v = closed:receive()
out = tostring(ok) .. tostring(v)`},
	{"select-receive-callback", `
ch:send("x")
local got
local idx, v, ok = channel.select({"|<-", ch, function(ok, v) got = tostring(ok) .. v end})
out = idx .. v .. tostring(ok) .. got`},
	{"select-send-callback", `
local sent
local idx, v, ok = channel.select({"<-|", ch, "y", function(v) sent = v end})
local _, back = ch:receive()
out = idx .. tostring(v) .. tostring(ok) .. sent .. back`},
	{"select-default", `
local called = false
local idx, v, ok = channel.select({"|<-", ch}, {"default", function() called = true end})
out = idx .. tostring(v) .. tostring(ok) .. tostring(called)`},
	{"select-closed", `
local idx, v, ok = channel.select({"|<-", closed})
out = idx .. tostring(v) .. tostring(ok)`},
	{"errors", `
local r = {}
for _, f in ipairs({
  function() channel.select({1, 2, 3}) end,
  function() channel.select({"<-|", 1, 3}) end,
  function() channel.select({"<-|", ch, function() end}) end,
  function() channel.select({"|<-", 1, 3}) end,
  function() channel.select({"<-->", 1, 3}) end,
  function() ch:send(function() end) end,
  function() ch:send(setmetatable({}, {})) end,
  function() ch.receive(1) end,
  function() ch.send("x", 1) end,
  function() ch:send() end,
}) do
  local ok, err = pcall(f)
  r[#r + 1] = tostring(ok) .. ":" .. tostring(err)
end
out = table.concat(r, "\n")`},
	{"collectgarbage-execute", `
out = select("#", collectgarbage("count")) .. " " .. os.execute("exit 0") .. " " .. os.execute("exit 3")`},
}

// runChannelProgram runs src on a fresh state, attached to w or not, and
// returns out, or the error.
func runChannelProgram(t *testing.T, w *suspend.World, src string) string {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	ch := make(chan lua.LValue, 4)
	closed := make(chan lua.LValue)
	close(closed)
	L.SetGlobal("ch", lua.LChannel(ch))
	L.SetGlobal("closed", lua.LChannel(closed))
	run := func() string {
		if err := L.DoString(src); err != nil {
			return "error: " + err.Error()
		}
		return L.GetGlobal("out").String()
	}
	if w == nil {
		return run()
	}
	var out string
	if err := luasuspend.Run(w, L, "library", func(*luasuspend.Guest) error {
		out = run()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLibraryKeepsItsBehaviour: the library functions the adapter
// replaces (collectgarbage, os.execute, channel.select, a channel's
// receive and send) give the same results and the same errors as
// gopher-lua's own, and are gopher-lua's own again after Detach.
func TestLibraryKeepsItsBehaviour(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	for _, p := range channelPrograms {
		t.Run(p.name, func(t *testing.T) {
			plain := runChannelProgram(t, nil, p.src)
			adapted := runChannelProgram(t, w, p.src)
			if strings.HasPrefix(plain, "error") {
				t.Fatalf("the program fails without the adapter: %s", plain)
			}
			if plain != adapted {
				t.Errorf("without the adapter:\n%s\nwith it:\n%s", plain, adapted)
			}
		})
	}

	// The functions are replaced while attached, and put back by Detach.
	L := lua.NewState()
	defer L.Close()
	lookup := func() []lua.LValue {
		mt := L.GetMetatable(lua.LChannel(nil))
		return []lua.LValue{
			L.GetGlobal("collectgarbage"), L.GetField(L.GetGlobal("os"), "execute"),
			L.GetField(L.GetGlobal("channel"), "select"), L.GetField(mt, "receive"), L.GetField(mt, "send"),
			L.GetField(L.GetGlobal("coroutine"), "create"),
		}
	}
	before := lookup()
	if err := luasuspend.Run(w, L, "patched", func(*luasuspend.Guest) error {
		for i, v := range lookup() {
			if v == before[i] {
				return fmt.Errorf("function %d was not replaced", i)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, v := range lookup() {
		if v != before[i] {
			t.Errorf("function %d was not put back", i)
		}
	}
	// Not replaced with the options, nor when not gopher-lua's own.
	mine := L.NewFunction(func(*lua.LState) int { return 0 })
	L.SetGlobal("collectgarbage", mine)
	before = lookup()
	if err := luasuspend.Run(w, L, "unpatched", func(*luasuspend.Guest) error {
		for i, v := range lookup() {
			if v != before[i] {
				return fmt.Errorf("function %d was replaced", i)
			}
		}
		return nil
	}, luasuspend.WithoutBlockingLibrary(), luasuspend.WithoutCoroutineLibrary()); err != nil {
		t.Fatal(err)
	}
	if err := luasuspend.Run(w, L, "embedder's", func(*luasuspend.Guest) error {
		if L.GetGlobal("collectgarbage") != mine {
			return errors.New("the embedder's own collectgarbage was replaced")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLibraryWaitsDoNotDelayStops: a guest waiting in a channel's receive
// or in channel.select (which would wait for ever) or in os.execute (for
// a 1 s process) is stopped at once, seen inside its wait at the Lua line
// that called it, and parks when it leaves the wait while the world is
// stopped, until the restart. With WithoutBlockingLibrary, a stop that
// meets a guest waiting on a channel times out.
func TestLibraryWaitsDoNotDelayStops(t *testing.T) {
	cases := []struct{ name, src string }{
		{"receive", "ready()\nlocal ok, v = ch:receive()\nassert(ok and v == 'go')"},
		{"select", "ready()\nlocal i, v = channel.select({'|<-', ch})\nassert(i == 1 and v == 'go')"},
		{"execute", "ready()\nassert(os.execute('sleep 1') == 0)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(5*time.Second))
			ch := make(chan lua.LValue)
			g, done := startGuest(t, w, tc.name, tc.src, nil, func(L *lua.LState) {
				L.SetGlobal("ch", lua.LChannel(ch))
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := suspendtest.WaitInRegion(ctx, g.Thread()); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			snap, err := luasuspend.StopAll(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); tc.name == "execute" && took > 500*time.Millisecond {
				t.Errorf("the stop took %v: it waited for the process", took)
			}
			if v := snap.Guests[0]; !v.InBlocking || v.Where() != "<string>:2" {
				t.Errorf("the waiting guest's view: %+v", v)
			}
			if tc.name != "execute" {
				ch <- lua.LString("go") // it leaves the wait while stopped
			}
			if err := suspendtest.WaitParked(ctx, g.Thread()); err != nil {
				t.Error(err)
			}
			if err := snap.Restart(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("without", func(t *testing.T) {
		w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop), suspend.WithStopTimeout(200*time.Millisecond))
		ch := make(chan lua.LValue)
		attached := make(chan struct{})
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			L := lua.NewState()
			defer L.Close()
			L.SetGlobal("ch", lua.LChannel(ch))
			L.SetGlobal("ready", L.NewFunction(func(*lua.LState) int { close(ready); return 0 }))
			done <- luasuspend.Run(w, L, "unwrapped", func(*luasuspend.Guest) error {
				close(attached)
				return L.DoString("ready() ch:receive()")
			}, luasuspend.WithoutBlockingLibrary())
		}()
		<-attached
		<-ready
		time.Sleep(time.Millisecond) // into the receive
		_, err := w.Stop(context.Background())
		var ste *suspend.StopTimeoutError
		if !errors.As(err, &ste) || !strings.Contains(err.Error(), "unwrapped") {
			t.Errorf("stop while an unwrapped receive waits: %v; want a timeout naming the guest", err)
		}
		ch <- lua.LTrue
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
