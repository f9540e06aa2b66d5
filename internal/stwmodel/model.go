// Package stwmodel is an executable model of Mono's suspend protocol
// (docs/mono-protocol.md §4.2–§4.4), the reference threadstate's table
// was checked against; it is not a model of this library's protocol.
// Package suspend departs from it: its initiator peeks with back-off
// and applies FinishAsyncSuspend on the handler's behalf instead of
// pulsing, rolls back on timeouts (the model has a simpler rollback), nests
// SuspendThread in stops, and lets Detach wait inside a region.
// internal/modelcheck checks that code itself, unchanged, under a
// deterministic scheduler (docs/design.md, "Model checking the
// library").
//
// The model works at the granularity of atomic steps: one initiator that stops and restarts the world, and a few threads
// that poll, enter and leave blocking regions, open no-safepoints regions,
// take signals, attach and detach. Every state change goes through a real
// threadstate.Cell; every transition is checked by a threadstate.Checker;
// the initiator checks the stop-the-world postconditions.
//
// A Model is deterministic given the sequence of actions taken, so a
// model checker can explore every interleaving (Enabled, Do, Snapshot,
// Restore), and property tests and fuzz targets can drive it with random
// choices. It is test support, not library code.
//
// What each atomic step is, and where the model departs from Mono:
//
//   - A thread's step is one Cell transition, one semaphore operation or
//     one lock acquisition. A signal can be delivered between any two steps
//     of the thread; the handler then runs to completion in its own steps
//     (finish, notify, wait for restart, notify) before the thread
//     continues.
//   - Attach and registration are one step taken while the suspend lock is
//     free (Mono attaches, then registers under the lock). Detach, as in
//     Mono, holds the suspend lock; coop and hybrid threads wait for it
//     inside a blocking region so that a stop can proceed meanwhile.
//   - Whether an asynchronously suspended thread was stopped in a critical
//     location is chosen by the handler step, at most once per thread and
//     stop, so the critical-location retry loop (pulse, resume and
//     re-suspend) is explored without unbounded retries.
//   - A stop may be started "with timeout": while it waits for the first
//     phase it may give up and roll back (abort every request still
//     pending, resume every thread that stopped), which is what package
//     suspend does when Stop times out. Mono has no such path (its wait is
//     unbounded).
package stwmodel

import (
	"errors"
	"fmt"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// MaxThreads bounds the number of threads of a model.
const MaxThreads = 3

// pc is a thread's program counter: the next atomic step it will take.
type pc uint8

const (
	tUnattached       pc = iota // next: attach (when the lock is free)
	tRunning                    // GC-unsafe; chooses its next operation
	tNoSafepoints               // inside a no-safepoints region
	tBlocking                   // inside a blocking (GC-safe) region
	tUnsafeInBlocking           // entered GC-unsafe mode inside a blocking region (holds a cookie)
	tPoll                       // next: STATE_POLL, then cont
	tNotify                     // next: post the suspend notification, then wait
	tWaitResume                 // parked on its resume semaphore, then cont
	tEnterSafe                  // next: DO_BLOCKING (retry), then tBlocking
	tDetachEnterSafe            // next: DO_BLOCKING (retry), then tDetachLock
	tExitUnsafe                 // next: DO_BLOCKING (retry), then tBlocking
	tDetachLock                 // waits for the suspend lock to detach
	tDetach                     // holds the lock; next: DETACH
	tDetached                   // gone
)

var pcNames = [...]string{"unattached", "running", "no-safepoints", "blocking", "unsafe-in-blocking",
	"poll", "notify", "wait-resume", "enter-safe", "detach-enter-safe", "exit-unsafe",
	"detach-lock", "detach", "detached"}

func (p pc) String() string { return pcNames[p] }

// hpc is the signal handler's program counter on a thread.
type hpc uint8

const (
	hNone          hpc = iota // not in the handler
	hNotifySuspend            // suspended; next: notify the initiator
	hWaitRestart              // parked until the restart signal
	hNotifyResume             // restarted; next: notify the initiator, return
	hNotifyLost               // lost the race with a self-suspend; notify, return
)

// ipc is the initiator's program counter.
type ipc uint8

const (
	iIdle           ipc = iota // no stop in progress
	iRequest                   // first phase: request suspension of thread idx
	iWait                      // wait for pending operations, then next
	iMopup                     // hybrid second phase: peek thread idx
	iCritical                  // critical-location retry: pulse or resume thread idx
	iResuspend                 // re-suspend thread idx after the retry
	iRestart                   // resume thread idx
	iAbort                     // timed out: abort the request of thread idx
	iRollbackResume            // timed out: resume thread idx
)

var ipcNames = [...]string{"idle", "request", "wait", "mopup", "critical", "resuspend", "restart",
	"abort", "rollback-resume"}

func (p ipc) String() string { return ipcNames[p] }

// threadVars is a thread's local state, apart from its word.
type threadVars struct {
	pc, cont       pc
	handler        hpc
	sigPending     bool // a suspend signal is on its way
	restartPending bool // a restart signal is on its way
	resumeSem      uint8
	critical       bool // its handler stopped it in a critical location
	criticalUsed   bool // it has been critical once in this stop
}

// initVars is the initiator's state.
type initVars struct {
	pc, next       ipc
	idx            uint8
	withTimeout    bool // this stop may time out in its first wait
	canTimeout     bool // the current wait may time out
	needNextPhase  bool
	restartCounter uint8
	pending        uint8 // operations to wait for (Mono's pending_suspends)
	inSTW          [MaxThreads]bool
	done           [MaxThreads]bool
	requested      [MaxThreads]bool // requested from Running in this stop
	aborted        [MaxThreads]bool // its request was rolled back
}

// lock holders.
const (
	lockFree      = 0
	lockInitiator = 1
	// lockThread+i: thread i
	lockThread = 2
)

// Snapshot is the whole state of a Model, comparable so that a model
// checker can use it as a map key. It holds no history: two runs that
// reach the same snapshot behave the same from there on.
type Snapshot struct {
	Words      [MaxThreads]ts.Word
	threads    [MaxThreads]threadVars
	init       initVars
	lock       uint8
	suspendSem uint8 // posts not yet consumed by the initiator
}

// Model is one initiator and a few threads running the protocol.
type Model struct {
	policy   Policy
	n        int
	s        Snapshot
	cells    [MaxThreads]*ts.Cell
	checkers [MaxThreads]ts.Checker
	stats    Stats
}

// Stats counts what a run did.
type Stats struct {
	Steps      int
	Stops      int // stops that reached the stopped state
	Timeouts   int // stops that timed out and rolled back
	Pulses     int
	Signals    int
	Visited    ts.StateSet
	EndVisited ts.StateSet // states threads were in when a stop completed
}

// New returns a model of threads threads, all unattached, under policy p.
func New(p Policy, threads int) *Model {
	if threads < 1 || threads > MaxThreads {
		panic(fmt.Sprintf("stwmodel: %d threads, want 1..%d", threads, MaxThreads))
	}
	m := &Model{policy: p, n: threads}
	for i := 0; i < threads; i++ {
		m.cells[i] = new(ts.Cell)
		m.checkers[i] = ts.Checker{Reachable: p.States()}
	}
	m.stats.Visited = ts.States(ts.Starting)
	return m
}

// Policy returns the model's policy.
func (m *Model) Policy() Policy { return m.policy }

// Stats returns the counters of the run so far.
func (m *Model) Stats() Stats { return m.stats }

// Snapshot returns the model's state.
func (m *Model) Snapshot() Snapshot {
	s := m.s
	for i := 0; i < m.n; i++ {
		s.Words[i] = m.cells[i].Load()
	}
	return s
}

// Restore returns a model in state s. Its cells are fresh Cells brought to
// the snapshot's words by real transitions (see Reach), and its checkers
// follow on from those words.
func Restore(p Policy, threads int, s Snapshot) (*Model, error) {
	m := New(p, threads)
	m.s = s
	for i := 0; i < threads; i++ {
		path, ok := Reach(s.Words[i])
		if !ok {
			return nil, fmt.Errorf("stwmodel: word %v is unreachable", s.Words[i])
		}
		for _, e := range path {
			if _, err := m.cells[i].Apply(e); err != nil {
				return nil, err
			}
		}
		m.checkers[i].From(s.Words[i])
	}
	return m, nil
}

// Idle reports whether no stop is in progress.
func (m *Model) Idle() bool { return m.s.init.pc == iIdle && m.s.lock != lockInitiator }

// Actor numbers: threads are 0..n-1.
const initiator = -1

// Action is one atomic step an actor can take.
type Action struct {
	Actor  int8 // -1 for the initiator, else the thread's index
	Choice uint8
}

// Thread choices. A thread's enabled choices depend on its pc.
const (
	cStep            uint8 = iota // the pc's single step
	cPoll                         // tRunning, tUnsafeInBlocking
	cEnterSafe                    // tRunning
	cBeginNS                      // tRunning
	cEnterUnsafe                  // tRunning, tBlocking
	cDetach                       // tRunning, tBlocking
	cExitSafe                     // tBlocking
	cExitUnsafe                   // tUnsafeInBlocking
	cEndNS                        // tNoSafepoints
	cDeliver                      // a pending signal: the handler runs
	cDeliverCritical              // the same, stopping it in a critical location
	cHandler                      // the handler's next step
)

// Initiator choices.
const (
	cBegin        uint8 = iota // iIdle
	cBeginTimeout              // iIdle, coop and hybrid
	cAdvance                   // the pc's step on thread idx
	cConsume                   // iWait: consume one notification
	cTimeout                   // iWait: give up and roll back
)

var threadChoiceNames = [...]string{"step", "poll", "enter-safe", "begin-no-safepoints", "enter-unsafe",
	"detach", "exit-safe", "exit-unsafe", "end-no-safepoints", "deliver-signal",
	"deliver-signal-critical", "handler"}
var initChoiceNames = [...]string{"begin-stop", "begin-stop-with-timeout", "advance", "consume", "timeout"}

func (a Action) String() string {
	if a.Actor == initiator {
		return "initiator:" + initChoiceNames[a.Choice]
	}
	return fmt.Sprintf("thread%d:%s", a.Actor, threadChoiceNames[a.Choice])
}

// Enabled returns the actions that can be taken now, appended to buf.
func (m *Model) Enabled(buf []Action) []Action {
	buf = buf[:0]
	buf = m.initiatorEnabled(buf)
	for i := 0; i < m.n; i++ {
		buf = m.threadEnabled(i, buf)
	}
	return buf
}

func (m *Model) initiatorEnabled(buf []Action) []Action {
	add := func(c uint8) { buf = append(buf, Action{initiator, c}) }
	in := &m.s.init
	switch in.pc {
	case iIdle:
		if m.s.lock == lockFree {
			add(cBegin)
			if m.policy.safepoints() {
				add(cBeginTimeout)
			}
		}
	case iWait:
		if m.s.suspendSem > 0 {
			add(cConsume)
		}
		if in.canTimeout && in.pending > 0 {
			add(cTimeout)
		}
	default:
		add(cAdvance)
	}
	return buf
}

func (m *Model) threadEnabled(i int, buf []Action) []Action {
	add := func(c uint8) { buf = append(buf, Action{int8(i), c}) }
	t := &m.s.threads[i]
	if t.handler != hNone {
		if t.handler != hWaitRestart || t.restartPending {
			add(cHandler)
		}
		return buf
	}
	if t.sigPending {
		add(cDeliver)
		if !t.criticalUsed {
			add(cDeliverCritical)
		}
	}
	coop := m.policy.safepoints()
	switch t.pc {
	case tUnattached:
		if m.s.lock == lockFree {
			add(cStep)
		}
	case tRunning:
		if coop {
			add(cPoll)
			add(cEnterSafe)
			add(cBeginNS)
			add(cEnterUnsafe)
		}
		add(cDetach)
	case tNoSafepoints:
		add(cEndNS)
	case tBlocking:
		add(cExitSafe)
		add(cEnterUnsafe)
		add(cDetach)
	case tUnsafeInBlocking:
		add(cPoll)
		add(cExitUnsafe)
	case tPoll, tNotify, tEnterSafe, tDetachEnterSafe, tExitUnsafe, tDetach:
		add(cStep)
	case tWaitResume:
		if t.resumeSem > 0 {
			add(cStep)
		}
	case tDetachLock:
		if m.s.lock == lockFree {
			add(cStep)
		}
	case tDetached:
	}
	return buf
}

// Do takes action a, which must be enabled. The error reports a protocol
// failure: a refused transition (I12), a broken invariant, or a broken
// stop-the-world postcondition.
func (m *Model) Do(a Action) error {
	m.stats.Steps++
	var err error
	if a.Actor == initiator {
		err = m.initiatorStep(a.Choice)
	} else {
		err = m.threadStep(int(a.Actor), a.Choice)
	}
	if err != nil {
		return fmt.Errorf("%v: %w", a, err)
	}
	if err := m.settle(); err != nil {
		return fmt.Errorf("%v: %w", a, err)
	}
	return nil
}

// apply takes a transition on thread i's cell as actor and checks it.
func (m *Model) apply(i int, actor ts.Actor, e ts.Event) (ts.Result, error) {
	tr, err := m.cells[i].Transition(e)
	if err != nil {
		return 0, fmt.Errorf("thread%d: %w", i, err)
	}
	tr.Actor = actor
	if err := m.checkers[i].Check(tr); err != nil {
		return 0, fmt.Errorf("thread%d: %w", i, err)
	}
	m.stats.Visited = m.stats.Visited.With(tr.After.State())
	return tr.Result, nil
}

// ErrModel marks a state the protocol should never reach, as opposed to a
// refused transition or a broken invariant.
var ErrModel = errors.New("protocol error")

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrModel}, args...)...)
}

func (m *Model) post() {
	m.s.suspendSem++
}

// threadStep runs one step of thread i.
func (m *Model) threadStep(i int, c uint8) error {
	t := &m.s.threads[i]
	self := func(e ts.Event) (ts.Result, error) { return m.apply(i, ts.Self, e) }
	switch c {
	case cDeliver, cDeliverCritical:
		return m.deliver(i, c == cDeliverCritical)
	case cHandler:
		return m.handlerStep(i)
	case cPoll:
		return m.poll(i, t.pc)
	case cEnterSafe:
		return m.doBlocking(i, tBlocking)
	case cBeginNS:
		if _, err := self(ts.BeginNoSafepoints); err != nil {
			return err
		}
		t.pc = tNoSafepoints
	case cEndNS:
		if _, err := self(ts.EndNoSafepoints); err != nil {
			return err
		}
		t.pc = tRunning
	case cEnterUnsafe:
		r, err := self(ts.AbortBlocking)
		if err != nil {
			return err
		}
		switch r {
		case ts.AbortBlockingIgnore: // already GC-unsafe; no cookie
		case ts.AbortBlockingIgnoreAndPoll:
			t.pc, t.cont = tPoll, tRunning
		case ts.AbortBlockingOk:
			t.pc = tUnsafeInBlocking
		case ts.AbortBlockingWait:
			t.pc, t.cont = tWaitResume, tUnsafeInBlocking
		default:
			return protocolErr("thread%d: ABORT_BLOCKING returned %v", i, r)
		}
	case cExitSafe:
		r, err := self(ts.DoneBlocking)
		if err != nil {
			return err
		}
		switch r {
		case ts.DoneBlockingOk:
			t.pc = tRunning
		case ts.DoneBlockingWait:
			// Parks without notifying: the initiator already counts
			// the thread as stopped (§4.2, §6.8).
			t.pc, t.cont = tWaitResume, tRunning
		default:
			return protocolErr("thread%d: DONE_BLOCKING returned %v", i, r)
		}
	case cExitUnsafe:
		return m.doBlocking(i, tBlocking)
	case cDetach:
		switch {
		case t.pc == tBlocking || !m.policy.safepoints():
			t.pc = tDetachLock
		default:
			return m.doBlocking(i, tDetachLock)
		}
	case cStep:
		return m.threadPCStep(i)
	default:
		return protocolErr("thread%d: unknown choice %d", i, c)
	}
	return nil
}

func (m *Model) threadPCStep(i int) error {
	t := &m.s.threads[i]
	switch t.pc {
	case tUnattached:
		if _, err := m.apply(i, ts.Self, ts.Attach); err != nil {
			return err
		}
		t.pc = tRunning
	case tPoll:
		return m.poll(i, t.cont)
	case tNotify:
		m.post()
		t.pc = tWaitResume
	case tWaitResume:
		t.resumeSem--
		t.pc = t.cont
	case tEnterSafe, tExitUnsafe:
		return m.doBlocking(i, tBlocking)
	case tDetachEnterSafe:
		return m.doBlocking(i, tDetachLock)
	case tDetachLock:
		m.s.lock = lockThread + uint8(i)
		t.pc = tDetach
	case tDetach:
		r, err := m.apply(i, ts.Self, ts.Detach)
		if err != nil {
			return err
		}
		m.s.lock = lockFree
		switch r {
		case ts.True:
			t.pc = tDetached
		case ts.False:
			// A request is pending although the thread held the
			// lock: no single initiator leaves one behind.
			return protocolErr("thread%d: DETACH found a pending request while holding the suspend lock", i)
		}
	default:
		return protocolErr("thread%d: no step at %v", i, t.pc)
	}
	return nil
}

// poll is the safepoint; cont is where the thread goes on afterwards.
func (m *Model) poll(i int, cont pc) error {
	t := &m.s.threads[i]
	r, err := m.apply(i, ts.Self, ts.StatePoll)
	if err != nil {
		return err
	}
	switch r {
	case ts.SelfSuspendResumed:
		t.pc = cont
	case ts.SelfSuspendNotifyAndWait:
		t.pc, t.cont = tNotify, cont
	default:
		return protocolErr("thread%d: STATE_POLL returned %v", i, r)
	}
	return nil
}

// doBlocking enters a blocking region and goes on at next; on
// PollAndRetry it polls and retries from the same point.
func (m *Model) doBlocking(i int, next pc) error {
	t := &m.s.threads[i]
	retry := tEnterSafe
	switch next {
	case tDetachLock:
		retry = tDetachEnterSafe
	case tBlocking:
		if t.pc == tUnsafeInBlocking || t.pc == tExitUnsafe {
			retry = tExitUnsafe
		}
	}
	r, err := m.apply(i, ts.Self, ts.DoBlocking)
	if err != nil {
		return err
	}
	switch r {
	case ts.DoBlockingContinue:
		t.pc = next
	case ts.DoBlockingPollAndRetry:
		t.pc, t.cont = tPoll, retry
	default:
		return protocolErr("thread%d: DO_BLOCKING returned %v", i, r)
	}
	return nil
}

// deliver runs the first step of the suspend signal's handler on thread i:
// finish the asynchronous suspend.
func (m *Model) deliver(i int, critical bool) error {
	t := &m.s.threads[i]
	t.sigPending = false
	r, err := m.apply(i, ts.Handler, ts.FinishAsyncSuspend)
	if err != nil {
		return err
	}
	switch r {
	case ts.True:
		t.handler = hNotifySuspend
		if critical {
			t.critical, t.criticalUsed = true, true
		}
	case ts.False:
		// The thread self-suspended first; the initiator counted a
		// pending operation for the signal, so the handler notifies.
		t.handler = hNotifyLost
	default:
		return protocolErr("thread%d: FINISH_ASYNC_SUSPEND returned %v", i, r)
	}
	return nil
}

func (m *Model) handlerStep(i int) error {
	t := &m.s.threads[i]
	switch t.handler {
	case hNotifySuspend:
		m.post()
		t.handler = hWaitRestart
	case hWaitRestart:
		t.restartPending = false
		t.handler = hNotifyResume
	case hNotifyResume, hNotifyLost:
		m.post()
		t.handler = hNone
	default:
		return protocolErr("thread%d: handler has no step", i)
	}
	return nil
}
