package luasuspend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// registryKey is the field of an attached state's Lua registry (shared by
// its coroutine threads, out of reach of Lua code) that holds its Guest.
const registryKey = "github.com/coopsuspend/coopsuspend/contrib/gopherlua.Guest"

// Option configures Attach.
type Option func(*config) error

type config struct {
	coroutines, blocking bool
}

// WithoutCoroutineLibrary leaves the coroutine library's create, wrap and
// resume as they are. Code inside a Lua coroutine then polls only if its
// thread was adopted (Guest.NewThread, Guest.Adopt): a stop that meets a
// coroutine created by Lua code times out. It is for embedders that
// install a coroutine library of their own and adopt its threads.
func WithoutCoroutineLibrary() Option {
	return func(c *config) error {
		c.coroutines = false
		return nil
	}
}

// WithoutBlockingLibrary leaves the functions of gopher-lua's library
// that wait (collectgarbage, os.execute, channel.select and a channel's
// receive and send) as they are: they then wait in GC-unsafe mode, and a
// stop waits for them, for as long as they wait.
func WithoutBlockingLibrary() Option {
	return func(c *config) error {
		c.blocking = false
		return nil
	}
}

// Guest is a gopher-lua state attached to a world as a guest thread.
//
// Fields written by the guest's goroutine only (own, inBlocking,
// callbacks, patched, detached) are read by others only while the guest
// is held, after the stop or suspend has ordered them.
type Guest struct {
	th *suspend.Thread
	L  *lua.LState
	// goid is the number of the goroutine that attached.
	goid uint64

	// own is the embedder's own context: L's at Attach, or the one given
	// to SetContext since; nil when it has none.
	own context.Context

	// inBlocking counts nested Blocking builtins in progress, and
	// callbacks the Call callbacks in progress inside them: while
	// inBlocking > callbacks, Lua code must not run.
	inBlocking, callbacks int

	// patched are the library functions Attach replaced.
	patched []patch

	detached bool

	// listed is set once Attach has made the guest and cleared when it
	// detaches: Guests lists it only in between. It orders what Attach
	// wrote before it for the goroutines that find the guest through
	// the world's threads (Thread.Value).
	listed atomic.Bool
}

// patch is one function of a library table that Attach replaced.
type patch struct {
	tb         *lua.LTable
	name       string
	orig, ours lua.LValue
}

// Attach makes L a guest thread of w, named name, on the calling
// goroutine, which must be the one that runs L. L must be a main state
// (lua.NewState's, not a coroutine thread's) and must not be running.
//
// Attach sets L's context to one that polls: gopher-lua's interpreter
// loop calls its Done before every instruction. It wraps L's own context
// (L.Context(), or none), which keeps working: a cancellation or a
// deadline of it stops the guest's Lua code as before, and Detach gives
// it back. To change it while attached use Guest.SetContext, not
// LState.SetContext, which would stop the guest from polling.
//
// Attach also replaces functions of gopher-lua's library, where they are
// still gopher-lua's own: create, wrap and resume of the coroutine
// library, so that every coroutine thread polls too; and the functions
// that wait (collectgarbage, os.execute, channel.select, a channel's
// receive and send), which then wait inside a blocking region, where a
// stop does not wait for them. Detach puts back whatever it replaced.
// Open the libraries before Attach.
func Attach(w *suspend.World, L *lua.LState, name string, opts ...Option) (*Guest, error) {
	if w == nil || L == nil {
		return nil, errors.New("luasuspend: Attach needs a world and a Lua state")
	}
	if m := L.G.MainThread; m != nil && m != L {
		return nil, fmt.Errorf("luasuspend: %v is a coroutine thread of %v; attach the main state", L, m)
	}
	if g := registered(L); g != nil {
		return nil, fmt.Errorf("luasuspend: %v is attached already, as guest %q", L, g.th.Name())
	}
	if executing(L) {
		return nil, fmt.Errorf("luasuspend: %v is running Lua code; attach it before it runs", L)
	}
	cfg := config{coroutines: true, blocking: true}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := learnInterpreter(); err != nil {
		return nil, err
	}
	g := &Guest{L: L, goid: goroutineID(), own: L.Context()}
	th, err := w.Attach(name, suspend.WithValue(g))
	if err != nil {
		return nil, err
	}
	g.th = th
	L.SetContext(newPollCtx(g, L, g.Context()))
	L.G.Registry.RawSetString(registryKey, &lua.LUserData{Value: g, Metatable: lua.LNil})
	g.patchLibraries(cfg)
	g.listed.Store(true)
	return g, nil
}

// Run attaches L, calls fn with the guest, and detaches, also when fn
// panics (the panic then goes on). Its error is fn's, joined with
// Detach's.
func Run(w *suspend.World, L *lua.LState, name string, fn func(*Guest) error, opts ...Option) (err error) {
	g, err := Attach(w, L, name, opts...)
	if err != nil {
		return err
	}
	panicking := true
	defer func() {
		if panicking {
			// A panic may have left frames on L's stack (an unprotected
			// L.Call): L runs nothing now, so detach it anyway.
			_ = g.detach()
			return
		}
		if derr := g.Detach(); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	err = fn(g)
	panicking = false
	return err
}

// Detach ends the guest: it gives L back its own context (or none), puts
// back the library functions Attach replaced, and detaches the suspend
// thread. Call it on the goroutine that attached, with L not running.
func (g *Guest) Detach() error {
	if g.detached {
		return fmt.Errorf("luasuspend: guest %q: %w", g.th.Name(), suspend.ErrDetached)
	}
	if id := goroutineID(); id != g.goid {
		return fmt.Errorf("luasuspend: guest %q detached on goroutine %d; it was attached on goroutine %d, which must detach it", g.th.Name(), id, g.goid)
	}
	if executing(g.L) {
		return fmt.Errorf("luasuspend: guest %q is still running Lua code; detach it after it returns", g.th.Name())
	}
	return g.detach()
}

func (g *Guest) detach() error {
	g.listed.Store(false)
	if err := g.th.Detach(); err != nil {
		g.listed.Store(true)
		return err
	}
	g.detached = true
	for _, p := range slices.Backward(g.patched) {
		if p.tb.RawGetString(p.name) == p.ours { // unless Lua code replaced it since
			p.tb.RawSetString(p.name, p.orig)
		}
	}
	g.patched = nil
	g.L.G.Registry.RawSetString(registryKey, lua.LNil)
	// Coroutine threads adopted while attached keep their polling
	// context until their next instruction, which finds the guest
	// detached and gives them theirs back (pollCtx.rehome).
	if c, ok := g.L.Context().(*pollCtx); !ok || c.g != g {
		// LState.SetContext replaced the polling context while attached
		// (the guest stopped polling then): that context is the
		// embedder's now, and stays.
		return nil
	}
	if g.own == nil {
		g.L.RemoveContext()
	} else {
		g.L.SetContext(g.own)
	}
	return nil
}

// Context returns the embedder's own context, which the guest's polling
// context wraps: L's at Attach or the one given to SetContext, or
// context.Background() when there is none. Blocking builtins wait on it.
func (g *Guest) Context() context.Context {
	if g.own == nil {
		return context.Background()
	}
	return g.own
}

// SetContext sets the embedder's own context (nil: none), as
// LState.SetContext would without the adapter: its cancellation or
// deadline stops the guest's Lua code from the next instruction on. Call
// it on the guest's goroutine. Coroutine threads made before keep the
// context they were made with, as in gopher-lua.
func (g *Guest) SetContext(ctx context.Context) error {
	if g.detached {
		return fmt.Errorf("luasuspend: guest %q: %w", g.th.Name(), suspend.ErrDetached)
	}
	if c, ok := ctx.(*pollCtx); ok { // one of the adapter's own: take what it stands for
		ctx = c.parent
	}
	g.own = ctx
	g.L.SetContext(newPollCtx(g, g.L, g.Context()))
	return nil
}

// NewThread is LState.NewThread for Go code that resumes a coroutine
// itself (LState.Resume): the new thread polls like the guest's own.
// Coroutines made by Lua code (coroutine.create and wrap) need nothing.
func (g *Guest) NewThread() (*lua.LState, context.CancelFunc) {
	th, cancel := g.L.NewThread()
	g.adopt(th)
	return th, cancel
}

// Thread returns the guest's suspend thread.
func (g *Guest) Thread() *suspend.Thread { return g.th }

// State returns the guest's Lua state.
func (g *Guest) State() *lua.LState { return g.L }

// Name returns the guest's name.
func (g *Guest) Name() string { return g.th.Name() }

// GuestOf returns the guest that L (a guest's main state or one of its
// coroutine threads) belongs to, or nil.
func GuestOf(L *lua.LState) *Guest {
	if L == nil {
		return nil
	}
	if c, ok := L.Context().(*pollCtx); ok && !c.g.detached {
		return c.g
	}
	return registered(L)
}

// ThreadOf returns the suspend thread of the guest L belongs to, or nil:
// what a Go function passes to package safepoint.
func ThreadOf(L *lua.LState) *suspend.Thread {
	if g := GuestOf(L); g != nil {
		return g.th
	}
	return nil
}

// registered returns the guest recorded in L's registry, if attached.
func registered(L *lua.LState) *Guest {
	ud, ok := L.G.Registry.RawGetString(registryKey).(*lua.LUserData)
	if !ok {
		return nil
	}
	g, _ := ud.Value.(*Guest)
	if g == nil || g.detached {
		return nil
	}
	return g
}

// executing reports whether L is running: it has a current call frame.
func executing(L *lua.LState) bool {
	_, ok := L.GetStack(0)
	return ok
}

// Adopt gives th, a thread of the guest's state, a polling context of
// its own, wrapping the one it has (gopher-lua's cancellable child of its
// creator's context), unless it has one of this guest's already. Lua's
// coroutine.create, wrap and resume adopt their threads; Go code that
// resumes a thread itself (LState.Resume) adopts it first, or makes it
// with NewThread. A thread kept across a Detach and the next Attach is
// adopted again by the next guest the same way. Call it on the guest's
// goroutine. A thread of another state is refused: it may run on another
// goroutine, and must not poll this guest's thread.
func (g *Guest) Adopt(th *lua.LState) error {
	if g.detached {
		return fmt.Errorf("luasuspend: guest %q: %w", g.th.Name(), suspend.ErrDetached)
	}
	if th == nil || th.G != g.L.G {
		return fmt.Errorf("luasuspend: guest %q cannot adopt %v: it is not a thread of the guest's state", g.th.Name(), th)
	}
	g.adopt(th)
	return nil
}

// adopt is Adopt for a thread known to be the guest's.
func (g *Guest) adopt(th *lua.LState) {
	parent := th.Context()
	if c, ok := parent.(*pollCtx); ok {
		if c.g == g {
			return
		}
		parent = c.parent // a guest's that has detached
	}
	if parent == nil { // made before Attach, by a state without a context
		parent = g.Context()
	}
	th.SetContext(newPollCtx(g, th, parent))
}

// The replacements call the library's own function on the same stack
// frame, then adopt the thread it made or is about to resume. They look
// the guest up at each call: Lua code may keep them (local create =
// coroutine.create) past a Detach and a new Attach.

func adoptingCreate(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := orig(L)
		if g := GuestOf(L); g != nil && n == 1 {
			if th, ok := L.Get(-1).(*lua.LState); ok {
				g.adopt(th)
			}
		}
		return n
	}
}

func adoptingWrap(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := orig(L)
		if n != 1 {
			return n
		}
		// gopher-lua's wrap returns a Go closure whose one upvalue is the
		// thread. Return one of ours instead, with the same upvalue (the
		// library's closure finds the thread through its frame's
		// function), that adopts the thread at every call: the closure may
		// outlive this guest and be called under the next.
		fn, ok := L.Get(-1).(*lua.LFunction)
		if !ok || !fn.IsG || len(fn.Upvalues) != 1 {
			return n
		}
		th, ok := fn.Upvalues[0].Value().(*lua.LState)
		if !ok {
			return n
		}
		if g := GuestOf(L); g != nil {
			g.adopt(th)
		}
		resume := fn.GFunction
		L.Replace(-1, L.NewClosure(func(L *lua.LState) int {
			if g := GuestOf(L); g != nil {
				if th, ok := L.Get(lua.UpvalueIndex(1)).(*lua.LState); ok {
					g.adopt(th)
				}
			}
			return resume(L)
		}, th))
		return n
	}
}

func adoptingResume(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if g := GuestOf(L); g != nil {
			// A thread made by Go code, or before Attach; of this state
			// only (Go code could hand Lua another state's).
			if th, ok := L.Get(1).(*lua.LState); ok && th.G == L.G {
				g.adopt(th)
			}
		}
		return orig(L)
	}
}

// goroutineID returns the calling goroutine's number, from the header of
// its stack trace: microseconds, so for Attach and Detach only.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, _ = bytes.CutPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("luasuspend: internal error: no goroutine number in a stack trace's header: " + err.Error())
	}
	return id
}

// Guests returns the guests attached to w through this package that are
// still w's threads, in the order they attached.
func Guests(w *suspend.World) []*Guest {
	var out []*Guest
	for _, th := range w.Threads() {
		if g, ok := th.Value().(*Guest); ok && g.listed.Load() {
			out = append(out, g)
		}
	}
	return out
}
