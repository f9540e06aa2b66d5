//go:build coopmodel

package suspend

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/modelhooks"
	"github.com/coopsuspend/coopsuspend/internal/seam"
)

// The explorer's stand-in for a thread's signal handler (docs/design.md,
// "Model checking the library"). A thread given a simHandler makes its
// wrapped system calls through simHandler.syscall, and the initiator's
// questions to its record (recInWrapper, recSuspendAsync,
// recResumeAsync) are answered by the simulation, through the seam,
// instead of by the real record (internal/asyncsuspend) and a signal.
//
// What is simulated is the handler's contract with the initiator, not
// the signal: the record's in-wrapper mark; a request that the handler
// answers when it runs, parking the thread if it is inside the kernel
// and declining at the entry's instructions around the system call (the
// critical location, after which the initiator backs off and asks
// again); a park that holds the thread until the release; and the
// acknowledgement the initiator waits for before it lets go of the
// record. The handler's decision is taken at the step the request is
// made, so it is delivered at every point of the thread's call the
// scheduler can put that step at. Not simulated: the delivery delay, a
// handler that does not answer (ErrNoAnswer), Interrupt, the saved
// registers (the real record holds no park's buffer, so Context reports
// none).

// simHandler is one thread's simulated signal handler.
type simHandler struct {
	inWrapper seam.Uint32
	// phase is where the thread is in its call; only the running proc
	// reads or writes it (the explorer runs one at a time).
	phase   simPhase
	parked  bool
	release seam.Token // the initiator's release of a park
	ack     seam.Token // the handler's acknowledgement that it left the park
}

type simPhase uint8

const (
	simOutside  simPhase = iota
	simEntering          // marked in the wrapper, before the system call: a critical location
	simInKernel          // in the system call: the handler parks the thread
	simLeaving           // returned, still marked: a critical location
)

var simHandlers struct {
	sync.Mutex
	m map[*Thread]*simHandler
}

func init() {
	modelhooks.SimulateHandler = func(thread any) func() {
		t := thread.(*Thread)
		h := simulateHandler(t)
		return func() { h.syscall(t) }
	}
	modelhooks.ForgetHandlers = forgetHandlers
}

// simulateHandler gives t a simulated signal handler; its record's
// answers come from it until the handlers are forgotten.
func simulateHandler(t *Thread) *simHandler {
	h := &simHandler{release: seam.NewToken("handler-release"), ack: seam.NewToken("handler-ack")}
	simHandlers.Lock()
	defer simHandlers.Unlock()
	if simHandlers.m == nil {
		simHandlers.m = map[*Thread]*simHandler{}
	}
	simHandlers.m[t] = h
	return h
}

// forgetHandlers drops every simulated handler.
func forgetHandlers() {
	simHandlers.Lock()
	defer simHandlers.Unlock()
	simHandlers.m = nil
}

func simOf(t *Thread) *simHandler {
	simHandlers.Lock()
	defer simHandlers.Unlock()
	return simHandlers.m[t]
}

// syscall is a wrapped system call of the thread t, as safepoint.Syscall6
// makes it: inside a blocking region, marked in the record while in the
// kernel entry. While the handler has the thread parked, the call does
// not return; after the release the call restarts, as an interrupted
// system call does.
func (h *simHandler) syscall(t *Thread) {
	t.c.EnterSafe()
	h.inWrapper.Store(1)
	h.phase = simEntering
	seam.Point()
	h.phase = simInKernel
	for {
		seam.Point() // in the kernel
		if !h.parked {
			break
		}
		// Parked by the handler: wait for the release, acknowledge,
		// and restart the call.
		h.release.Take()
		h.parked = false
		h.ack.TryPut()
	}
	h.phase = simLeaving
	seam.Point()
	h.inWrapper.Store(0)
	h.phase = simOutside
	t.c.ExitSafe()
}

func recInWrapper(t *Thread) bool {
	if h := simOf(t); h != nil {
		return h.inWrapper.Load() != 0
	}
	return t.c.Rec.InWrapper()
}

func recSuspendAsync(ctx context.Context, t *Thread, sig syscall.Signal) (bool, error) {
	h := simOf(t)
	if h == nil {
		return t.c.Rec.SuspendAsync(ctx, sig)
	}
	seam.Point() // the signal is delivered; the handler runs now
	if h.phase == simInKernel {
		h.parked = true
		return true, nil
	}
	return false, nil
}

// asyncPause lets the other goroutines run while the initiator backs off
// from a simulated handler; time itself is not modelled.
func asyncPause(t *Thread, d time.Duration) {
	if simOf(t) != nil {
		seam.Point()
		return
	}
	if d == 0 {
		runtime.Gosched()
	} else {
		time.Sleep(d)
	}
}

func recResumeAsync(t *Thread) {
	h := simOf(t)
	if h == nil {
		t.c.Rec.ResumeAsync()
		return
	}
	if !h.release.TryPut() {
		panic("suspend: simulated handler released twice")
	}
	h.ack.Take()
}
