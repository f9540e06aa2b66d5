package starsuspend

import (
	"context"
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/coopsuspend/coopsuspend/coroutine"
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
		return View{}, fmt.Errorf("starsuspend: guest %q: %w", g.name, suspend.ErrDetached)
	}
	if !g.stopped() {
		if g.task != nil {
			return View{}, fmt.Errorf("starsuspend: task guest %q is not held: read it through StopAll or PauseTask", g.name)
		}
		return View{}, fmt.Errorf("starsuspend: guest %q is not stopped (%v): stop the world or Pause it before reading its state", g.name, g.th.Word())
	}
	return View{
		Name:       g.name,
		Stack:      g.st.CallStack(),
		Steps:      g.st.Steps,
		InBlocking: g.inBlocking > g.callbacks,
	}, nil
}

// Paused is one guest held by Pause or PauseTask.
type Paused struct {
	g       *Guest
	View    View
	resumed bool
	// sched and id: the scheduler and coroutine a PauseTask suspended.
	sched *coroutine.Scheduler
	id    uint64
}

// Pause suspends one guest (World.SuspendThread), the way a debugger
// pauses a thread, and returns its view. The other guests run on. Call
// Resume to let it go.
func Pause(ctx context.Context, g *Guest) (*Paused, error) {
	if g.task != nil {
		return nil, fmt.Errorf("starsuspend: Pause(%q): a task guest is paused through its scheduler: PauseTask", g.name)
	}
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

// PauseTask suspends the task guest g, coroutine id of scheduler s
// (Scheduler.Suspend), the way a debugger pauses a thread, and returns its
// view. The other coroutines run on. Call Resume to let it go.
func PauseTask(ctx context.Context, s *coroutine.Scheduler, id uint64, g *Guest) (*Paused, error) {
	if g.task == nil {
		return nil, fmt.Errorf("starsuspend: PauseTask(%q): not a task guest (AttachTask); use Pause", g.name)
	}
	if err := s.Suspend(ctx, id); err != nil {
		return nil, err
	}
	g.held.Store(true)
	v, err := g.View()
	if err != nil {
		g.held.Store(false)
		return nil, errors.Join(err, s.Resume(id))
	}
	return &Paused{g: g, View: v, sched: s, id: id}, nil
}

// Resume resumes the paused guest. A second Resume returns an error.
func (p *Paused) Resume() error {
	if p.resumed {
		return fmt.Errorf("starsuspend: guest %q was resumed already", p.g.name)
	}
	p.resumed = true
	if p.sched != nil {
		p.g.held.Store(false)
		return p.sched.Resume(p.id)
	}
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
		// A task guest does not run while the world is stopped: the
		// runner that runs it is parked, and one switched out waits in
		// its scheduler; the stop orders what it did before.
		if g.task != nil {
			g.held.Store(true)
		}
		v, err := g.View()
		if g.task != nil {
			g.held.Store(false)
		}
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
