package luasuspend

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// running is the word of a thread that runs guest code with no request
// pending: safepoint.Poll's fast path compares the word with it.
const running = threadstate.Word(threadstate.Running)

// pollCtx is the context an attached LState (and each of its coroutine
// threads) runs with. gopher-lua's interpreter loop calls Done before
// every instruction, so Done is the adapter's safepoint: it looks at the
// guest thread's state word, and only when that word is not RUNNING with
// nothing pending does it leave for slow, which polls.
//
// Done is also reachable by anyone who holds L.Context(): Go code the
// guest calls, and through it any other goroutine (an HTTP client's, a
// context derived from it). Its fast path only reads (the word
// atomically, the fields that never change), so that is not a data race,
// and slow polls only when gopher-lua's interpreter loop is its caller,
// which runs on the guest's goroutine.
type pollCtx struct {
	// th and done are what the fast path reads.
	th   *suspend.Thread
	done <-chan struct{}

	g *Guest
	// L is the state (the main one or a coroutine thread) whose
	// interpreter loop calls this context.
	L *lua.LState
	// parent is the context this one stands for: the embedder's own, or,
	// for a coroutine thread, the cancellable child gopher-lua made for it.
	parent context.Context
}

func newPollCtx(g *Guest, L *lua.LState, parent context.Context) *pollCtx {
	return &pollCtx{th: g.th, done: parent.Done(), g: g, L: L, parent: parent}
}

// Done returns the parent's Done channel, after a poll when it is called
// by the interpreter and a stop or a suspend is pending.
func (c *pollCtx) Done() <-chan struct{} {
	if c.th.Word() != running {
		c.slow()
	}
	return c.done
}

// slow is Done when the guest's word is not plain RUNNING: a stop or a
// suspend is pending, the guest is inside a blocking region (or another
// region of package safepoint), or it has detached. Out of line, so that
// Done stays small.
//
//go:noinline
func (c *pollCtx) slow() {
	// Frames: 0 runtime.Callers, 1 slow, 2 Done, 3 Done's caller.
	var pc [1]uintptr
	if runtime.Callers(3, pc[:]) != 1 || !isInterpreter(pc[0]) {
		// Go code or another goroutine looking at the context: it must
		// not poll the guest's thread, and does not need to.
		return
	}
	g := c.g
	switch {
	case g.detached:
		// A coroutine thread adopted by a guest that has detached since:
		// hand it to the state's current guest, if any, or give it its
		// own context back.
		c.rehome()
	case g.inBlocking > g.callbacks:
		// Lua code inside a Blocking builtin, called without Call: a stop
		// would not wait for it. Fail it instead.
		c.L.RaiseError("luasuspend: guest %q ran Lua code inside a Blocking builtin, where a stop does not wait for it; call back through luasuspend.Call", g.th.Name())
	default:
		safepoint.Poll(c.th)
	}
}

// rehome moves a coroutine thread whose guest has detached to the guest
// its state is attached as now, or back to its own context. It runs from
// the thread's own interpreter loop, which reads L.Context() again before
// the next instruction; so it never removes the context (the loop would
// call Done on nil).
func (c *pollCtx) rehome() {
	if g := registered(c.L); g != nil {
		c.L.SetContext(newPollCtx(g, c.L, c.parent))
		return
	}
	c.L.SetContext(c.parent)
}

func (c *pollCtx) Err() error                  { return c.parent.Err() }
func (c *pollCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *pollCtx) Value(key any) any           { return c.parent.Value(key) }
func (c *pollCtx) String() string              { return fmt.Sprintf("luasuspend(%v)", c.parent) }

// AfterFunc lets context.WithCancel(L.Context()) (gopher-lua's, for every
// coroutine thread, and anyone's) register with the parent when the parent
// is not one of the context package's own, instead of starting a goroutine
// that waits on this context's Done. (With a standard cancellable parent
// the context package finds it through Value and Done, and registers the
// child with it directly.)
func (c *pollCtx) AfterFunc(f func()) (stop func() bool) { return context.AfterFunc(c.parent, f) }

// interp identifies gopher-lua's interpreter loop: where it calls Done.
var interp struct {
	once sync.Once
	// pc is the return address of the loop's call of Done, and entry the
	// entry of the function that makes it (the same function when the
	// call is inlined elsewhere).
	pc, entry uintptr
	err       error
}

// isInterpreter reports whether pc, a return address, is in the
// interpreter loop.
func isInterpreter(pc uintptr) bool {
	return pc == interp.pc || funcEntry(pc) == interp.entry
}

func funcEntry(pc uintptr) uintptr {
	f := runtime.FuncForPC(pc - 1) // pc is a return address: look at the call
	if f == nil {
		return 0
	}
	return f.Entry()
}

// learnInterpreter finds, once per process, where gopher-lua's
// interpreter loop calls its context's Done, by running a few
// instructions on a private LState with a context that records its
// callers. Nothing needs to know the loop's (unexported) name, and a
// gopher-lua that no longer calls Done per instruction is an error at
// Attach rather than guests that never stop.
func learnInterpreter() error {
	interp.once.Do(func() {
		interp.pc, interp.entry, interp.err = probeInterpreter()
	})
	return interp.err
}

type probeCtx struct {
	context.Context
	pcs []uintptr
}

func (p *probeCtx) Done() <-chan struct{} {
	var pc [1]uintptr
	if runtime.Callers(2, pc[:]) == 1 {
		p.pcs = append(p.pcs, pc[0])
	}
	return nil
}

func probeInterpreter() (pc, entry uintptr, err error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	p := &probeCtx{Context: context.Background()}
	L.SetContext(p)
	const src = "local n = 0\nfor i = 1, 4 do n = n + i end\nreturn n"
	if err := L.DoString(src); err != nil {
		return 0, 0, fmt.Errorf("luasuspend: cannot run gopher-lua to find its interpreter loop: %w", err)
	}
	if len(p.pcs) < 4 {
		return 0, 0, errors.New("luasuspend: gopher-lua's interpreter does not call its context's Done before every instruction; this version cannot be polled")
	}
	entry = funcEntry(p.pcs[0])
	for _, x := range p.pcs[1:] {
		if funcEntry(x) != entry {
			return 0, 0, errors.New("luasuspend: gopher-lua's context's Done is called from more than one function while it runs a loop; cannot tell its interpreter loop")
		}
	}
	return p.pcs[0], entry, nil
}
