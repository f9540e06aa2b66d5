package ottosuspend

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/robertkrimen/otto"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// Option configures Attach.
type Option func(*config)

type config struct {
	forward bool
}

// WithoutForwarding leaves the embedder's own Interrupt channel (the one
// vm.Interrupt holds at Attach) unread while the guest is attached: no
// goroutine forwards its funcs, and they wait there until Detach gives
// the VM its channel back. Send them with Guest.Interrupt instead.
func WithoutForwarding() Option {
	return func(c *config) { c.forward = false }
}

// Guest is an otto VM attached to a world as a guest thread.
//
// Fields written by the guest's goroutine only (own, inBlocking,
// callbacks) are read by others only while the guest is held, after the
// stop or suspend has ordered them.
type Guest struct {
	th   *suspend.Thread
	vm   *otto.Otto
	name string
	mb   *mailbox
	// goid is the number of the goroutine that attached.
	goid uint64

	// own is the embedder's own Interrupt channel: vm.Interrupt at
	// Attach, or SetInterrupt's since; nil for none.
	own     chan func()
	forward bool
	// links is what a cleanup needs when the garbage collector finds the
	// guest abandoned: it does not refer to the guest.
	links   *links
	cleanup runtime.Cleanup

	// inBlocking counts nested Blocking functions in progress, and
	// callbacks the Call callbacks in progress inside them: while
	// inBlocking > callbacks, JavaScript must not run.
	inBlocking, callbacks int
	// natives are the names of the Builtin and Blocking functions in
	// progress, outermost first.
	natives []string

	detached atomic.Bool

	// listed is set once Attach has made the guest and cleared when it
	// detaches: Guests lists it only in between. It orders what Attach
	// wrote before it for the goroutines that find the guest through
	// the world's threads (Thread.Value).
	listed atomic.Bool
	// viewing is set while View reads the VM from the debugger's
	// goroutine (otto's Context may run a getter there).
	viewing atomic.Bool
}

// links is a guest's part that outlives it: the VM, for the adapter's
// table of VMs, and the forwarder, which a cleanup stops.
type links struct {
	vm  *otto.Otto
	mu  sync.Mutex
	fwd *forwarder
}

// Attach makes vm a guest thread of w, named name, on the calling
// goroutine, which must be the one that runs vm's JavaScript. vm must
// not be running.
//
// otto reads vm.Interrupt before every statement and expression, and
// runs any func it receives there. Attach gives vm a channel of the
// guest's own: when a stop of the world or a SuspendThread requests the
// guest (whoever asks: the world calls the nudge it registered with
// suspend.OnRequest), a func that polls is sent on it, and the guest
// parks at its next node. The embedder's own channel (vm.Interrupt at
// Attach, if any) keeps working: a goroutine forwards its funcs, which
// then run on the VM's goroutine at the next node, as before; funcs sent
// to vm.Interrupt itself while attached run too, and Guest.Interrupt
// sends one from anywhere. Detach gives vm its channel back. To change
// the channel while attached use Guest.SetInterrupt: assigning
// vm.Interrupt would stop the guest from polling.
func Attach(w *suspend.World, vm *otto.Otto, name string, opts ...Option) (*Guest, error) {
	if w == nil || vm == nil {
		return nil, errors.New("ottosuspend: Attach needs a world and an otto VM")
	}
	if insideOtto() {
		return nil, fmt.Errorf("ottosuspend: Attach(%q) was called while JavaScript runs on this goroutine; attach the VM before it runs", name)
	}
	cfg := config{forward: true}
	for _, o := range opts {
		o(&cfg)
	}
	if other := GuestOf(vm); other != nil {
		return nil, fmt.Errorf("ottosuspend: the VM is attached already, as guest %q", other.name)
	}
	if other := channelOwner(vm.Interrupt); other != nil {
		return nil, fmt.Errorf("ottosuspend: Attach(%q): the VM's Interrupt channel is guest %q's; give the VM a channel of its own, or none", name, other.name)
	}
	g := &Guest{vm: vm, name: name, goid: goroutineID(), own: vm.Interrupt, forward: cfg.forward}
	g.mb = newMailbox(weak.Make(g))
	g.links = &links{vm: vm}
	if other := claimVM(vm, g); other != nil {
		return nil, fmt.Errorf("ottosuspend: the VM is attached already, as guest %q", other.name)
	}
	mb := g.mb
	th, err := w.Attach(name, suspend.OnRequest(func(*suspend.Thread) { mb.offer() }), suspend.WithValue(g))
	if err != nil {
		releaseVM(vm, g)
		return nil, err
	}
	g.th = th
	vm.Interrupt = mb.ch
	g.startForwarding()
	g.cleanup = runtime.AddCleanup(g, abandoned, g.links)
	g.listed.Store(true)
	return g, nil
}

// abandoned is the cleanup of a guest that was never detached, once the
// garbage collector finds it unreachable: its forwarder ends, and the
// adapter forgets its VM.
func abandoned(l *links) {
	l.mu.Lock()
	fwd := l.fwd
	l.fwd = nil
	l.mu.Unlock()
	if fwd != nil {
		fwd.signal()
	}
	forgetVM(l.vm)
}

// Run attaches vm, calls fn with the guest, and detaches, also when fn
// panics (the panic then goes on: an embedder's halt, say). Its error is
// fn's, joined with Detach's.
func Run(w *suspend.World, vm *otto.Otto, name string, fn func(*Guest) error, opts ...Option) (err error) {
	g, err := Attach(w, vm, name, opts...)
	if err != nil {
		return err
	}
	panicking := true
	defer func() {
		if panicking {
			_ = g.detach() // otto has unwound its own state; nothing runs now
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

// Detach ends the guest: the forwarder stops, the suspend thread is
// detached, and vm gets back the embedder's Interrupt channel (or none),
// with the embedder's funcs that were sent while attached and have not
// run: sent on to that channel, in order (from a goroutine, if it has no
// room), or dropped if the VM had none. Call it on the goroutine that
// attached, with no JavaScript running.
func (g *Guest) Detach() error {
	if g.detached.Load() {
		return fmt.Errorf("ottosuspend: guest %q: %w", g.name, suspend.ErrDetached)
	}
	if id := goroutineID(); id != g.goid {
		return fmt.Errorf("ottosuspend: guest %q detached on goroutine %d; it was attached on goroutine %d, which must detach it", g.name, id, g.goid)
	}
	if insideOtto() {
		return fmt.Errorf("ottosuspend: guest %q is still running JavaScript; detach it after it returns", g.name)
	}
	return g.detach()
}

func (g *Guest) detach() error {
	g.listed.Store(false)
	if err := g.th.Detach(); err != nil {
		g.listed.Store(true)
		return err
	}
	g.detached.Store(true)
	g.cleanup.Stop()
	forwarded := g.stopForwarding()
	releaseVM(g.vm, g)
	left := g.mb.drain()
	if forwarded {
		// The funcs still in the embedder's channel came after those the
		// forwarder took: they go back behind them, in order.
		left = append(left, drainChan(g.own)...)
	}
	if g.vm.Interrupt == g.mb.ch {
		g.vm.Interrupt = g.own
	}
	// else vm.Interrupt was assigned while attached (the guest stopped
	// polling then): that channel is the embedder's now, and stays.
	giveBack(g.vm.Interrupt, left)
	return nil
}

func (g *Guest) startForwarding() {
	if !g.forward || g.own == nil {
		return
	}
	f := startForwarder(g.mb, g.own)
	g.links.mu.Lock()
	g.links.fwd = f
	g.links.mu.Unlock()
}

// stopForwarding ends the forwarder, if one runs, and reports whether
// one did.
func (g *Guest) stopForwarding() bool {
	g.links.mu.Lock()
	f := g.links.fwd
	g.links.fwd = nil
	g.links.mu.Unlock()
	if f == nil {
		return false
	}
	f.stop()
	return true
}

// Interrupt runs f on the VM's goroutine at its next statement or
// expression, after any poll due there, as a func sent on vm.Interrupt
// would run without the adapter. It never blocks, and may be called from
// any goroutine. A func that panics (to halt the script, as otto's
// documentation shows) ends the run with its panic, as it would without
// the adapter. Funcs that have not run when the guest detaches are sent
// on to the embedder's own channel, or dropped if it has none.
func (g *Guest) Interrupt(f func()) error {
	if f == nil {
		return errors.New("ottosuspend: Interrupt of a nil func")
	}
	if g.detached.Load() || !g.mb.push(f) {
		return fmt.Errorf("ottosuspend: guest %q: %w", g.name, suspend.ErrDetached)
	}
	g.mb.offer()
	return nil
}

// SetInterrupt sets the embedder's own Interrupt channel (nil: none), as
// assigning vm.Interrupt would without the adapter: the funcs sent on it
// are forwarded to the VM from now on (unless WithoutForwarding), and
// Detach gives it to the VM. Funcs already taken from the previous one
// still run. Call it on the guest's goroutine.
func (g *Guest) SetInterrupt(ch chan func()) error {
	if g.detached.Load() {
		return fmt.Errorf("ottosuspend: guest %q: %w", g.name, suspend.ErrDetached)
	}
	if ch == g.mb.ch {
		return fmt.Errorf("ottosuspend: guest %q: SetInterrupt of the guest's own channel", g.name)
	}
	if other := channelOwner(ch); other != nil {
		return fmt.Errorf("ottosuspend: guest %q: SetInterrupt of guest %q's channel", g.name, other.name)
	}
	g.stopForwarding()
	g.own = ch
	g.startForwarding()
	return nil
}

// OwnInterrupt returns the embedder's own Interrupt channel: vm.Interrupt
// at Attach, or SetInterrupt's since; nil for none.
func (g *Guest) OwnInterrupt() chan func() { return g.own }

// serve is the service: it runs on the VM's goroutine when otto receives
// it from Interrupt, between two nodes. It polls, then runs the
// embedder's queued funcs.
func (g *Guest) serve() {
	if g.detached.Load() {
		return
	}
	if g.viewing.Load() {
		// A debugger's View is reading the VM on its own goroutine, and
		// otto's Context ran JavaScript there (a getter): not the guest's
		// goroutine, nowhere to poll. The service goes back for the
		// guest's next node.
		g.mb.offer()
		return
	}
	if g.inBlocking > g.callbacks {
		g.jsInRegion()
	}
	safepoint.Poll(g.th)
	g.mb.runQueued()
}

// jsInRegion fails JavaScript that a Blocking function runs without Call:
// it would run where a stop does not wait for it. The service goes back
// first, so that every node after this one fails too (a catch clause
// cannot carry on), until the code returns to Go.
func (g *Guest) jsInRegion() {
	g.mb.offer()
	c := safepoint.EnterUnsafe(g.th) // making the error touches the VM
	e := g.vm.MakeCustomError("Error", fmt.Sprintf(
		"ottosuspend: guest %q ran JavaScript inside a Blocking function, where a stop does not wait for it: call back into JavaScript through ottosuspend.Call", g.name))
	safepoint.ExitUnsafe(g.th, c)
	panic(e)
}

// Thread returns the guest's suspend thread.
func (g *Guest) Thread() *suspend.Thread { return g.th }

// VM returns the guest's otto VM.
func (g *Guest) VM() *otto.Otto { return g.vm }

// Name returns the guest's name.
func (g *Guest) Name() string { return g.name }

// GuestOf returns the attached guest of vm, or nil.
func GuestOf(vm *otto.Otto) *Guest {
	if vm == nil {
		return nil
	}
	vms.RLock()
	p, ok := vms.m[vm]
	vms.RUnlock()
	if !ok {
		return nil
	}
	g := p.Value()
	if g == nil || g.detached.Load() {
		return nil
	}
	return g
}

// ThreadOf returns the suspend thread of vm's guest, or nil: what a Go
// function passes to package safepoint.
func ThreadOf(vm *otto.Otto) *suspend.Thread {
	if g := GuestOf(vm); g != nil {
		return g.th
	}
	return nil
}

// vms maps each attached VM to its guest, for the builtin wrappers, which
// get the VM from otto.FunctionCall. The guest is held weakly; a guest the
// garbage collector finds abandoned removes its VM (abandoned).
var vms = struct {
	sync.RWMutex
	m map[*otto.Otto]weak.Pointer[Guest]
}{m: map[*otto.Otto]weak.Pointer[Guest]{}}

// claimVM records g as vm's guest, or returns the guest that has it.
func claimVM(vm *otto.Otto, g *Guest) *Guest {
	vms.Lock()
	defer vms.Unlock()
	if p, ok := vms.m[vm]; ok {
		if other := p.Value(); other != nil && !other.detached.Load() {
			return other
		}
	}
	vms.m[vm] = weak.Make(g)
	return nil
}

// releaseVM forgets vm if g is its guest.
func releaseVM(vm *otto.Otto, g *Guest) {
	vms.Lock()
	defer vms.Unlock()
	if p, ok := vms.m[vm]; ok && p.Value() == g {
		delete(vms.m, vm)
	}
}

// forgetVM forgets vm if its guest is gone.
func forgetVM(vm *otto.Otto) {
	vms.Lock()
	defer vms.Unlock()
	if p, ok := vms.m[vm]; ok && p.Value() == nil {
		delete(vms.m, vm)
	}
}

// channelOwner returns the attached guest whose channel ch is, or nil: a
// guest's channel must not be forwarded to another (the other would run
// its services, and poll its thread, on the wrong goroutine).
func channelOwner(ch chan func()) *Guest {
	if ch == nil {
		return nil
	}
	vms.RLock()
	defer vms.RUnlock()
	for _, p := range vms.m {
		if g := p.Value(); g != nil && !g.detached.Load() && g.mb.ch == ch {
			return g
		}
	}
	return nil
}

// insideOtto reports whether the calling goroutine is inside otto: a
// native function or an Interrupt func that otto called, which means
// JavaScript is running on it.
func insideOtto() bool {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "github.com/robertkrimen/otto.") {
			return true
		}
		if !more {
			return false
		}
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
		panic("ottosuspend: internal error: no goroutine number in a stack trace's header: " + err.Error())
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
