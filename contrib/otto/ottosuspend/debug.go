package ottosuspend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// MaxFrames bounds the frames View reads, innermost first.
const MaxFrames = 256

// Frame is one call of a stopped guest's JavaScript stack, as otto's
// Context reports it.
type Frame struct {
	// Function is the callee's name as the call wrote it (a function's
	// name, a method's property name), "" for a script's top level or a
	// function called through an expression; for a Go function, the
	// name given to Builtin or Blocking, or otherwise otto's name for it
	// (the Go function's, package path and all).
	Function string
	// File is the script's name (Compile's filename; "<anonymous>" for a
	// string run without one), the Go file of a native function, or ""
	// where otto does not know.
	File string
	// Line and Column are where the frame stands, 0 where otto does not
	// know: otto records a frame's position when the frame makes a call
	// (or a new), so an outer frame stands at the call it is in, and the
	// innermost JavaScript frame at the last call it made, or nowhere
	// known before its first. A native frame has a line, no column.
	Line, Column int
	// Native: a Go function.
	Native bool
}

func (f Frame) String() string {
	loc := "?"
	switch {
	case f.File != "" && f.Native:
		loc = fmt.Sprintf("%s:%d", f.File, f.Line)
	case f.File != "" && f.Line > 0:
		loc = fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
	case f.Native:
		loc = "native"
	}
	if f.Function == "" {
		return loc
	}
	return fmt.Sprintf("%s (%s)", f.Function, loc)
}

// View is a stopped guest as a debugger sees it.
type View struct {
	Name string
	// Stack is the guest's JavaScript call stack, outermost frame first,
	// up to MaxFrames of the innermost; its last frame is where the guest
	// stands (a native one, if it is stopped inside a Go function). Empty
	// when it is stopped outside JavaScript, or where otto knows nothing
	// of its position (the first nodes of a script).
	Stack []Frame
	// InBlocking: the guest is stopped inside (or on its way into) a
	// Blocking function: it runs Go code there, and parks if it returns
	// before the resume.
	InBlocking bool
}

// Where returns the guest's position, "file:line:column" of the innermost
// JavaScript frame whose position otto knows, or "".
func (v View) Where() string {
	for _, f := range slices.Backward(v.Stack) {
		if !f.Native && f.Line > 0 {
			return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
		}
	}
	return ""
}

// View returns what the guest is doing, from otto's Context. The guest
// must be held by a stop of the world or a Pause (suspend.Thread.Held):
// its VM is its own goroutine's, and only a stop orders a read of it.
// Otherwise View fails and says so.
//
// otto's Context also reads the variables in scope of every frame; a
// variable that is a getter of a with statement's object runs JavaScript
// then, on the caller's goroutine (the guest is held, so it is the only
// one running the VM).
func (g *Guest) View() (v View, err error) {
	// Only the word, read atomically, until it says the guest is held:
	// the guest's own fields are ordered for this goroutine only then.
	if !g.th.Held() {
		wd := g.th.Word()
		if wd.State() == threadstate.Detached || g.detached.Load() {
			return View{}, fmt.Errorf("ottosuspend: guest %q: %w", g.name, suspend.ErrDetached)
		}
		return View{}, fmt.Errorf("ottosuspend: guest %q is not stopped (%v): stop the world or Pause it before reading its state", g.name, wd)
	}
	v = View{Name: g.name, InBlocking: g.inBlocking > g.callbacks}
	g.viewing.Store(true)
	defer g.viewing.Store(false)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ottosuspend: guest %q: otto's Context panicked: %v", g.name, r)
		}
	}()
	ctx := g.vm.ContextSkip(MaxFrames, false)
	natives := g.natives
	for _, s := range slices.Backward(ctx.Stacktrace) {
		f := parseLocation(s)
		if wrapperSites[Frame{File: f.File, Line: f.Line, Native: f.Native}] && len(natives) > 0 {
			// otto names a Go function after its Go code: the
			// adapter's wrapper here. Name it after what it wraps.
			f = Frame{Function: natives[0], Native: true}
			natives = natives[1:]
		}
		v.Stack = append(v.Stack, f)
	}
	if len(v.Stack) == 1 && v.Stack[0] == (Frame{}) {
		v.Stack = nil // outside JavaScript, or nothing known
	}
	return v, nil
}

// parseLocation reads one line of otto's Context.Stacktrace:
// "callee (where)" or "where", where is "file:line:column" for
// JavaScript, "file:line" or "<native code>" for a Go function, and
// "<unknown>" when otto does not know.
func parseLocation(s string) Frame {
	var f Frame
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, " ("); i >= 0 {
			f.Function, s = s[:i], s[i+2:len(s)-1]
		}
	}
	switch s {
	case "<unknown>":
		return f
	case "<native code>":
		f.Native = true
		return f
	}
	rest, last, ok := cutNumber(s)
	if !ok {
		f.File = s
		return f
	}
	if file, line, ok := cutNumber(rest); ok {
		f.File, f.Line, f.Column = file, line, last
		return f
	}
	f.File, f.Line, f.Native = rest, last, true
	return f
}

// cutNumber splits "s:n" into s and n.
func cutNumber(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0, false
	}
	return s[:i], n, true
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
		return fmt.Errorf("ottosuspend: guest %q was resumed already", p.g.name)
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
