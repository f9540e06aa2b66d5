package luasuspend

import (
	"context"
	"errors"
	"fmt"
	"slices"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Frame is one call of a stopped guest's Lua stack.
type Frame struct {
	// Function is gopher-lua's name for the function: the global, local
	// or field it was called through, "main chunk" for a chunk's top
	// level, or a <source:line> where it has no name.
	Function string
	// Source is the chunk's name (the file of DoFile, "<string>" for
	// DoString), or "" for a Go function.
	Source string
	// Line is the line the frame stands at: the instruction the guest
	// runs next in the innermost frame, the call in the others; -1 in a
	// Go function.
	Line int
	// What is "main" (a chunk, or a coroutine's body), "Lua", "tail" (a
	// Lua function entered by a tail call, which replaced its caller's
	// frame) or "G" (a Go function).
	What string
	// Coroutine is the depth of the thread the frame belongs to: 0 for
	// the main state, 1 for a coroutine it resumed, and so on.
	Coroutine int
}

func (f Frame) String() string {
	if f.Line < 0 || f.Source == "" {
		return fmt.Sprintf("%s [%s]", f.Function, f.What)
	}
	return fmt.Sprintf("%s (%s:%d)", f.Function, f.Source, f.Line)
}

// View is a stopped guest as a debugger sees it.
type View struct {
	Name string
	// Stack is the guest's Lua call stack, outermost frame first, across
	// the coroutines it is inside: the main state's frames (down to the
	// resume), then the resumed thread's, and so on. Its last frame is
	// where the guest stands. Empty when the guest is stopped outside
	// Lua code.
	Stack []Frame
	// Coroutines is how many coroutines deep the guest is running.
	Coroutines int
	// InBlocking: the guest is stopped inside (or on its way into) a
	// Blocking function: it runs Go code there, and parks if it returns
	// before the resume.
	InBlocking bool
}

// Where returns the guest's position in Lua source, "source:line": the
// innermost frame that has one (a Go function's frame has none; its
// caller's call is where the guest stands), or "" outside Lua code.
func (v View) Where() string {
	for _, f := range slices.Backward(v.Stack) {
		if f.Line > 0 && f.Source != "" {
			return fmt.Sprintf("%s:%d", f.Source, f.Line)
		}
	}
	return ""
}

// View returns what the guest is doing. The guest must be held by a stop
// of the world or a Pause (suspend.Thread.Held): its Lua stack is its own
// goroutine's, and only a stop orders a read of it. Otherwise View fails
// and says so.
func (g *Guest) View() (View, error) {
	// Only the word, read atomically, until it says the guest is held:
	// the guest's own fields are ordered for this goroutine only then.
	if !g.th.Held() {
		wd := g.th.Word()
		if wd.State() == threadstate.Detached {
			return View{}, fmt.Errorf("luasuspend: guest %q: %w", g.th.Name(), suspend.ErrDetached)
		}
		return View{}, fmt.Errorf("luasuspend: guest %q is not stopped (%v): stop the world or Pause it before reading its state", g.th.Name(), wd)
	}
	v := View{Name: g.th.Name(), InBlocking: g.inBlocking > g.callbacks}
	// The running thread, and the threads that resumed it, up to the
	// main state.
	var chain []*lua.LState
	for L := g.L.G.CurrentThread; L != nil && len(chain) <= lua.CallStackSize; L = L.Parent {
		chain = append(chain, L)
	}
	if len(chain) == 0 || chain[len(chain)-1] != g.L {
		chain = []*lua.LState{g.L} // not started, or a thread resumed by other means
	}
	slices.Reverse(chain)
	v.Coroutines = len(chain) - 1
	for depth, L := range chain {
		v.Stack = append(v.Stack, frames(L, depth)...)
	}
	return v, nil
}

// frames returns L's call frames, outermost first. gopher-lua's GetStack
// counts the frames a tail call replaced as levels of their own, and
// answers those with L's bottom frame (What "main"); the bottom frame is
// the last one, so any "main" frame before it is such a pseudo-level.
func frames(L *lua.LState, depth int) []Frame {
	var out []Frame
	var last *Frame
	for level := 0; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sln", dbg, nil); err != nil {
			break
		}
		f := Frame{Function: dbg.Name, Source: dbg.Source, Line: dbg.CurrentLine, What: dbg.What, Coroutine: depth}
		if f.What == "main" {
			last = &f
			continue
		}
		out = append(out, f)
	}
	if last != nil {
		out = append(out, *last)
	}
	slices.Reverse(out)
	return out
}

// Paused is one guest held by Pause.
type Paused struct {
	g       *Guest
	View    View
	resumed bool
}

// Pause suspends one guest (World.SuspendThread), the way a debugger
// pauses a thread, and returns its view. The other guests run on. Call
// Resume to let it go.
func Pause(ctx context.Context, g *Guest) (*Paused, error) {
	w := g.th.World()
	if err := w.SuspendThread(ctx, g.th); err != nil {
		return nil, err
	}
	v, err := g.View()
	if err != nil {
		return nil, errors.Join(err, w.ResumeThread(g.th))
	}
	return &Paused{g: g, View: v}, nil
}

// Resume resumes the paused guest. A second Resume returns an error.
func (p *Paused) Resume() error {
	if p.resumed {
		return fmt.Errorf("luasuspend: guest %q was resumed already", p.g.th.Name())
	}
	p.resumed = true
	return p.g.th.World().ResumeThread(p.g.th)
}

// Snapshot is a stopped world with a view of each of its guests.
type Snapshot struct {
	Stopped *suspend.Stopped
	// Guests holds the views of the guests attached through this
	// package, in the order they attached.
	Guests []View
}

// Restart restarts the world.
func (s *Snapshot) Restart() error { return s.Stopped.Restart() }

// StopAll stops w and reads every guest's view while it is stopped. The
// caller restarts it. Guests attached while the stop waited are not in
// the snapshot (Attach waits for the restart).
func StopAll(ctx context.Context, w *suspend.World) (*Snapshot, error) {
	s, err := w.Stop(ctx)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Stopped: s}
	for _, g := range Guests(w) {
		v, err := g.View()
		if errors.Is(err, suspend.ErrDetached) {
			continue
		}
		if err != nil {
			return nil, errors.Join(err, s.Restart())
		}
		snap.Guests = append(snap.Guests, v)
	}
	return snap, nil
}
