package suspend_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestWorldStateMachine is a rapid state-machine test of the whole World
// API. Worker goroutines are attached threads that wait for commands
// inside a blocking region (as a runtime's idle thread would) and run each
// command in GC-unsafe code: polls, blocking regions, unsafe regions inside
// blocking regions, no-safepoints regions, detach, and a spin without
// polls that only a release ends. The test stops and restarts the world,
// suspends and resumes single threads, and times stops out, checking:
//
//   - I12: no thread-side call ever panics (a worker reports any panic);
//   - I13: a stopped world has every thread in an end state of the policy
//     with one count for the stop plus one per SuspendThread, and after a
//     restart only the SuspendThread counts remain;
//   - I14: the pending-operation accounting is balanced between stops;
//   - no worker makes GC-unsafe progress while it is stopped or held;
//   - a timed-out stop rolls back and leaves the world usable;
//   - misuse (resuming a thread nobody suspended) is an error that
//     changes nothing.
func TestWorldStateMachine(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			newWorld(t, suspend.WithPolicy(p)) // skips where p cannot run
			checkNoLeak(t)
			var did tally
			// rapid runs a fifth of its cases under -short; repeat
			// (at most 5 rounds) until every kind of step happened.
			for round := 0; round < 5 && !did.complete(); round++ {
				rapid.Check(t, func(rt *rapid.T) {
					h := newHarness(rt, p)
					h.did = &did
					defer h.shutdown()
					// An action whose precondition does not hold does
					// nothing instead of calling t.Skip: rapid fails a
					// run that draws too many skipped actions in a row,
					// which a stopped world with one valid action made
					// likely.
					rt.Repeat(map[string]func(*rapid.T){
						"attach":  h.attach,
						"command": h.command,
						"stop":    h.stop,
						"restart": h.restart,
						"suspend": h.suspendOne,
						"resume":  h.resumeOne,
						"spin":    h.spin,
						"release": h.release,
						"detach":  h.detach,
						"":        h.check,
					})
				})
			}
			// The runs must have done the interesting things, or the
			// checks above prove little.
			t.Logf("%v: %+v", p, did)
			if !did.complete() {
				t.Errorf("the random runs missed a kind of step: %+v", did)
			}
		})
	}
}

// tally counts the steps that did something, over all runs of a policy.
type tally struct {
	stops, timeouts, suspends, resumes, detaches, heldCommands int
}

func (d tally) complete() bool {
	return d.stops > 0 && d.timeouts > 0 && d.suspends > 0 && d.resumes > 0 && d.detaches > 0 && d.heldCommands > 0
}

type command int

const (
	cmdPoll command = iota
	cmdSafeRoundTrip
	cmdUnsafeInSafe
	cmdNoSafepoints
	cmdSpin
	cmdDetach
)

// message is a command with, for cmdSpin, the channel whose closing ends
// the spin.
type message struct {
	c       command
	release chan struct{}
	started chan struct{} // closed by the worker when the spin begins
}

type worker struct {
	th       *suspend.Thread
	cmds     chan message
	acks     chan command
	release  chan struct{} // the current spin's; harness only
	progress atomic.Int64  // bumped in GC-unsafe code outside no-safepoints regions
	inflight int           // commands sent, not yet acknowledged
	spinning bool
	holds    int   // SuspendThread counts
	frozenAt int64 // progress when it was last stopped or held
}

type harness struct {
	t       *rapid.T
	policy  suspend.Policy
	w       *suspend.World
	workers []*worker
	stopped *suspend.Stopped
	panics  chan any
	wg      sync.WaitGroup
	nextID  int
	did     *tally
}

const stopTimeout = 30 * time.Millisecond

func newHarness(t *rapid.T, p suspend.Policy) *harness {
	w, err := suspend.NewWorld(suspend.WithPolicy(p), suspend.WithStopTimeout(stopTimeout))
	if err != nil {
		t.Fatal(err) // TestWorldStateMachine has skipped where p cannot run
	}
	return &harness{t: t, policy: p, panics: make(chan any, 16), w: w}
}

func (h *harness) run(wk *worker, ready chan<- struct{}, name string) {
	defer h.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			h.panics <- r
		}
	}()
	th, err := h.w.Attach(name)
	if err != nil {
		h.panics <- err
		return
	}
	wk.th = th
	close(ready)
	for {
		var m message
		safepoint.Blocking(th, func() { m = <-wk.cmds })
		c := m.c
		wk.progress.Add(1)
		switch c {
		case cmdPoll:
			safepoint.Poll(th)
			wk.progress.Add(1)
		case cmdSafeRoundTrip:
			safepoint.EnterSafe(th)
			safepoint.ExitSafe(th)
			wk.progress.Add(1)
		case cmdUnsafeInSafe:
			safepoint.EnterSafe(th)
			ck := safepoint.EnterUnsafe(th)
			wk.progress.Add(1)
			safepoint.ExitUnsafe(th, ck)
			safepoint.ExitSafe(th)
		case cmdNoSafepoints:
			safepoint.BeginNoSafepoints(th)
			safepoint.EndNoSafepoints(th)
			safepoint.Poll(th)
			wk.progress.Add(1)
		case cmdSpin:
			close(m.started)
			for spinning := true; spinning; {
				select {
				case <-m.release:
					spinning = false
				default:
				}
			}
			safepoint.Poll(th)
		case cmdDetach:
			if err := th.Detach(); err != nil {
				h.panics <- err
			}
			wk.acks <- c
			return
		}
		wk.acks <- c
	}
}

// held reports whether wk cannot run GC-unsafe code now.
func (h *harness) held(wk *worker) bool { return h.stopped != nil || wk.holds > 0 }

func (h *harness) idle() []*worker {
	var out []*worker
	for _, wk := range h.workers {
		if wk.inflight == 0 && !wk.spinning {
			out = append(out, wk)
		}
	}
	return out
}

func (h *harness) spinner() *worker {
	for _, wk := range h.workers {
		if wk.spinning {
			return wk
		}
	}
	return nil
}

func (h *harness) awaitAck(wk *worker) {
	select {
	case <-wk.acks:
		wk.inflight--
	case r := <-h.panics:
		h.t.Fatalf("a thread panicked: %v", r)
	case <-time.After(20 * time.Second):
		panic(fmt.Sprintf("%s did not finish its command (holds %d, stopped %v)\n%s",
			wk.th.Name(), wk.holds, h.stopped != nil, dump(h.w)))
	}
}

// settle collects the acknowledgements of commands that could not finish
// while their workers were held, once they are free.
func (h *harness) settle() {
	for _, wk := range h.workers {
		for !h.held(wk) && wk.inflight > 0 && !wk.spinning {
			h.awaitAck(wk)
		}
	}
}

// pick draws one of ws by index, so that rapid's log stays readable.
func pick(t *rapid.T, ws []*worker) *worker {
	return ws[rapid.IntRange(0, len(ws)-1).Draw(t, "worker")]
}

func (h *harness) attach(t *rapid.T) {
	if len(h.workers) >= 4 || h.stopped != nil {
		return // full, or stopped (Attach would wait for the restart)
	}
	wk := &worker{cmds: make(chan message, 1), acks: make(chan command, 4)}
	ready := make(chan struct{})
	h.wg.Add(1)
	h.nextID++
	go h.run(wk, ready, fmt.Sprintf("w%d", h.nextID))
	select {
	case <-ready:
	case r := <-h.panics:
		t.Fatalf("attach: %v", r)
	}
	h.workers = append(h.workers, wk)
}

func (h *harness) command(t *rapid.T) {
	idle := h.idle()
	if len(idle) == 0 {
		return // no idle worker
	}
	wk := pick(t, idle)
	c := rapid.SampledFrom([]command{cmdPoll, cmdSafeRoundTrip, cmdUnsafeInSafe, cmdNoSafepoints}).Draw(t, "command")
	wk.cmds <- message{c: c}
	wk.inflight++
	if !h.held(wk) {
		h.awaitAck(wk)
	} else {
		h.did.heldCommands++
	}
}

func (h *harness) spin(t *rapid.T) {
	idle := h.idle()
	if len(idle) == 0 || h.spinner() != nil || h.stopped != nil {
		return // no idle worker, one spins already, or stopped
	}
	var free []*worker
	for _, wk := range idle {
		if wk.holds == 0 {
			free = append(free, wk)
		}
	}
	if len(free) == 0 {
		return // every idle worker is held
	}
	wk := pick(t, free)
	wk.release = make(chan struct{})
	started := make(chan struct{})
	wk.cmds <- message{c: cmdSpin, release: wk.release, started: started}
	wk.inflight++
	wk.spinning = true
	// Wait until it spins in GC-unsafe code, out of its blocking region.
	// (Its word says Running already between an ack and the next
	// command's blocking region, so the word alone cannot tell.)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatalf("spinner did not start: %v", wk.th.Word())
	}
	if st := wk.th.Word().State(); st != threadstate.Running {
		t.Fatalf("spinner is %v, want RUNNING", wk.th.Word())
	}
}

func (h *harness) release(t *rapid.T) {
	wk := h.spinner()
	if wk == nil {
		return // nobody spins
	}
	wk.spinning = false
	close(wk.release)
	if !h.held(wk) {
		h.awaitAck(wk)
	}
}

func (h *harness) stop(t *rapid.T) {
	if h.stopped != nil || len(h.workers) == 0 {
		// An empty stop is TestStopEmpty's.
		return // already stopped, or nobody attached
	}
	s, err := h.w.Stop(context.Background())
	if sp := h.spinner(); sp != nil {
		var te *suspend.StopTimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("Stop with %s spinning: %v, want a timeout", sp.th.Name(), err)
		}
		h.did.timeouts++
		for _, wk := range h.workers {
			if got, want := wk.th.Word().Count(), wk.holds; got != want {
				t.Fatalf("after a rolled-back stop %s has count %d, want %d (%v)", wk.th.Name(), got, want, wk.th.Word())
			}
		}
		h.checkBalanced()
		return
	}
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	h.stopped = s
	h.did.stops++
	infos := s.Threads()
	if len(infos) != len(h.workers) {
		t.Fatalf("stopped %d threads, %d attached", len(infos), len(h.workers))
	}
	for _, wk := range h.workers {
		wd := wk.th.Word()
		if !h.policy.EndStates().Has(wd.State()) || wd.Count() != 1+wk.holds {
			t.Fatalf("I13: %s is %v when stopped (holds %d)", wk.th.Name(), wd, wk.holds)
		}
		if wk.holds == 0 {
			wk.frozenAt = wk.progress.Load()
		}
	}
}

func (h *harness) checkFrozen(wk *worker, what string) {
	if now := wk.progress.Load(); now != wk.frozenAt {
		h.t.Fatalf("%s made GC-unsafe progress while %s: %d -> %d", wk.th.Name(), what, wk.frozenAt, now)
	}
}

func (h *harness) restart(t *rapid.T) {
	if h.stopped == nil {
		return // not stopped
	}
	for _, wk := range h.workers {
		h.checkFrozen(wk, "stopped")
	}
	if err := h.stopped.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := h.stopped.Restart(); err == nil {
		t.Fatal("a second Restart succeeded")
	}
	h.stopped = nil
	for _, wk := range h.workers {
		if got := wk.th.Word().Count(); got != wk.holds {
			t.Fatalf("I13: %s has count %d after the restart, want %d", wk.th.Name(), got, wk.holds)
		}
	}
	h.checkBalanced()
	h.settle()
}

func (h *harness) suspendOne(t *rapid.T) {
	if h.stopped != nil || len(h.workers) == 0 {
		return // stopped (SuspendThread would wait), or nobody attached
	}
	wk := pick(t, h.workers)
	err := h.w.SuspendThread(context.Background(), wk.th)
	if wk.spinning && wk.holds == 0 {
		if err == nil {
			t.Fatal("SuspendThread of a spinner succeeded")
		}
		if wk.th.Word().Count() != 0 {
			t.Fatalf("rolled-back SuspendThread left %v", wk.th.Word())
		}
		return
	}
	if err != nil {
		t.Fatalf("SuspendThread(%s): %v", wk.th.Name(), err)
	}
	if wk.holds == 0 {
		wk.frozenAt = wk.progress.Load()
	}
	wk.holds++
	h.did.suspends++
	if wd := wk.th.Word(); !h.policy.EndStates().Has(wd.State()) || wd.Count() != wk.holds {
		t.Fatalf("%s is %v after SuspendThread (holds %d)", wk.th.Name(), wd, wk.holds)
	}
}

func (h *harness) resumeOne(t *rapid.T) {
	if h.stopped != nil || len(h.workers) == 0 {
		return // stopped, or nobody attached
	}
	wk := pick(t, h.workers)
	if wk.holds > 0 {
		// Checked before the resume lets it run.
		h.checkFrozen(wk, "held by SuspendThread")
	}
	before := wk.th.Word()
	err := h.w.ResumeThread(wk.th)
	if wk.holds == 0 {
		if err == nil {
			t.Fatalf("ResumeThread of %s, which nobody suspended, succeeded", wk.th.Name())
		}
		if after := wk.th.Word(); after != before && after.Count() != 0 {
			t.Fatalf("a refused ResumeThread changed %v to %v", before, after)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	wk.holds--
	h.did.resumes++
	h.settle()
}

func (h *harness) detach(t *rapid.T) {
	if h.stopped != nil {
		return // stopped
	}
	var free []*worker
	for _, wk := range h.idle() {
		if wk.holds == 0 {
			free = append(free, wk)
		}
	}
	if len(free) == 0 {
		return // no free idle worker
	}
	wk := pick(t, free)
	wk.cmds <- message{c: cmdDetach}
	wk.inflight++
	h.awaitAck(wk)
	if wd := wk.th.Word(); wd.State() != threadstate.Detached {
		t.Fatalf("detached worker is %v", wd)
	}
	h.did.detaches++
	for i, x := range h.workers {
		if x == wk {
			h.workers = append(h.workers[:i], h.workers[i+1:]...)
			break
		}
	}
}

func (h *harness) check(t *rapid.T) {
	select {
	case r := <-h.panics:
		t.Fatalf("a thread panicked: %v", r)
	default:
	}
	for _, wk := range h.workers {
		if err := threadstate.CheckWord(wk.th.Word()); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *harness) checkBalanced() {
	if err := suspend.Balanced(h.w); err != nil {
		h.t.Fatal(err)
	}
}

// shutdown frees and detaches every worker, whatever state the run left.
func (h *harness) shutdown() {
	// A broken library can leave workers that never finish; fail loudly
	// with the dump rather than hang the test binary.
	var errs []error
	watchdog := time.AfterFunc(60*time.Second, func() {
		panic(fmt.Sprintf("TestWorldStateMachine: shutdown hangs (errors %v)\n%s", errs, dump(h.w)))
	})
	defer watchdog.Stop()
	if h.stopped != nil {
		errs = append(errs, h.stopped.Restart())
		h.stopped = nil
	}
	for _, wk := range h.workers {
		if wk.spinning {
			close(wk.release)
			wk.spinning = false
		}
		// After a failed check the harness's holds may be wrong; the
		// library's own count decides.
		for h.w.ResumeThread(wk.th) == nil {
		}
		wk.holds = 0
	}
	for _, wk := range h.workers {
		for wk.inflight > 0 {
			h.awaitAck(wk)
		}
		wk.cmds <- message{c: cmdDetach}
		wk.inflight++
		h.awaitAck(wk)
	}
	h.wg.Wait()
	// Every worker has detached, so the world closes.
	errs = append(errs, h.w.Close())
	if err := errors.Join(errs...); err != nil {
		h.t.Error(err)
	}
}
