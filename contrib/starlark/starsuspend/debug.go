package starsuspend

import (
	"context"
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// View is a stopped guest as a debugger sees it.
type View struct {
	Name string
	// Stack is the guest's starlark call stack, outermost frame first;
	// its last frame's Pos is where the guest stands. Empty when the
	// guest was stopped outside starlark code (before or after a run).
	Stack starlark.CallStack
	// Steps is the guest's starlark step count.
	Steps uint64
	// InBlocking: the guest is stopped inside a Blocking builtin (it runs
	// Go code there, and parks if it returns before the resume).
	InBlocking bool
}

// Where returns the guest's current position in starlark source,
// "file:line:col": the innermost frame that has one (a builtin's frame
// has none; its caller's call expression is where the guest stands), or
// "" if it is not in starlark code.
func (v View) Where() string {
	for i := len(v.Stack) - 1; i >= 0; i-- {
		if pos := v.Stack[i].Pos; pos.IsValid() && pos.Line > 0 {
			return pos.String()
		}
	}
	return ""
}

// View returns what the guest is doing. The guest must be stopped, by a
// stop of the world or a Pause: the guest's stack is its own goroutine's
// and only a stop orders a read of it. Otherwise View fails and says so.
func (g *Guest) View() (View, error) {
	if g.detached {
		return View{}, fmt.Errorf("starsuspend: guest %q: %w", g.th.Name(), suspend.ErrDetached)
	}
	if !g.stopped() {
		return View{}, fmt.Errorf("starsuspend: guest %q is not stopped (%v): stop the world or Pause it before reading its state", g.th.Name(), g.th.Word())
	}
	return View{
		Name:       g.th.Name(),
		Stack:      g.st.CallStack(),
		Steps:      g.st.Steps,
		InBlocking: g.inBlocking > g.callbacks,
	}, nil
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
		return fmt.Errorf("starsuspend: guest %q was resumed already", p.g.th.Name())
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
