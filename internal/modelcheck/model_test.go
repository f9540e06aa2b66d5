//go:build coopmodel

package modelcheck

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/internal/core"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/internal/modelhooks"
	"github.com/coopsuspend/coopsuspend/internal/seam"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// The explorer on the code that ships (docs/design.md, "Model checking
// the library"): each scenario below is a small program of initiators
// and guest threads written against the public API, run by
// internal/seam's scheduler under every schedule with at most
// modelBound preemptions and then under random PCT schedules. Every
// operation of Stop, Restart, SuspendThread, ResumeThread, Attach,
// Detach, Poll and the regions runs as shipped; only the seam's
// operations are scheduling points.
//
// What each execution checks:
//
//   - before every scheduling decision, every word (CheckWord), and that
//     each thread a completed stop or SuspendThread holds is in an end
//     state of the policy with a count of at least its holds;
//   - every transition of every Cell, as it takes effect, with a
//     threadstate.Checker (I1-I3, I5-I7, I11 for the policy's states),
//     and no refused transition (the library panics on one);
//   - mutual exclusion, the point of a stop: a guest never runs
//     GC-unsafe code (a work step between safepoints) while a stop it
//     was part of, or a SuspendThread of it, is complete and not yet
//     undone;
//   - when Stop returns: every thread attached before it (and not
//     detaching) is a target, and each is in an end state of the
//     policy; Restart, ResumeThread and the world's own I14 checks
//     succeed;
//   - when Stop or SuspendThread returns, for each thread attached with
//     OnRequest: the call ran the thread's function once if its request
//     found the thread running, and never otherwise;
//   - at the end: every goroutine finished (no deadlock: a lost wake-up
//     leaves a thread parked forever), no resume semaphore holds an
//     unconsumed wake-up, the suspend lock is free, the pending count is
//     balanced (I14), every thread is Detached with count zero, and
//     the world closes (nothing attached, nothing holding it).

var (
	modelLong   = flag.Bool("coopmodel.long", false, "explore with preemption bound 3 and 20x the PCT runs")
	modelSeen   = flag.Bool("coopmodel.seen", false, "list the transitions each scenario took")
	modelReplay = flag.String("coopmodel.replay", "", "replay one failing schedule: scenario=schedule")
)

func modelConfig() seam.Config {
	if *modelLong {
		return seam.Config{Bound: 3, MaxExecutions: 2_000_000, PCTRuns: 20000, PCTDepth: 3, Seed: 1}
	}
	return seam.Config{Bound: 2, MaxExecutions: 200_000, PCTRuns: 1000, PCTDepth: 3, Seed: 1}
}

// mx is one execution's shared bookkeeping. Only one goroutine of the
// execution runs at a time, so it needs no lock.
type mx struct {
	t      *testing.T
	r      *seam.Run
	w      *suspend.World
	policy suspend.Policy

	held      map[uint64]int // thread ID -> completed stops and suspends holding it
	attached  map[uint64]*suspend.Thread
	detaching map[uint64]bool
	threads   []*suspend.Thread // every thread ever attached
	byID      map[uint64]*suspend.Thread
	sims      map[*suspend.Thread]func() // a simulated thread's wrapped system call

	checkers map[*ts.Cell]*ts.Checker
	words    map[*ts.Cell]ts.Word

	stops, rollbacks int

	// nudged are the threads attached with OnRequest (attachNudged), by
	// cell; calls are the Stop and SuspendThread calls in progress, by
	// initiator goroutine (goid.G), while the scenario has nudged
	// threads.
	nudged map[*ts.Cell]*nudgedThread
	calls  map[uintptr]*initCall

	// owners is closed when the execution's end checks are done: the
	// goroutines that attached the preattached threads wait for it.
	owners chan struct{}
}

// current is the execution in progress, for the Cell observer.
var current *mx

// seen collects, over one scenario's exploration, every transition
// taken ("EVENT -> RESULT in STATE"), so that a scenario can require
// that the paths it exists for were reached at all.
var seen map[string]bool

func init() {
	modelhooks.Observe = func(cell, transition any) {
		c, tr := cell.(*ts.Cell), transition.(ts.Transition)
		m := current
		if m == nil {
			return
		}
		chk := m.checkers[c]
		if chk == nil {
			chk = &ts.Checker{Reachable: m.policy.States()}
			m.checkers[c] = chk
		}
		if err := chk.Check(tr); err != nil {
			m.r.Fail(err)
		}
		m.words[c] = tr.After
		seen[fmt.Sprintf("%v -> %v in %v", tr.Event, tr.Result, tr.Before.State())] = true
		if n := m.nudged[c]; n != nil {
			m.observeNudged(n, tr)
		}
	}
}

func (m *mx) failf(format string, args ...any) { m.r.Fail(fmt.Errorf(format, args...)) }

// attach attaches a thread named name from the calling goroutine.
func (m *mx) attach(name string, opts ...suspend.AttachOption) *suspend.Thread {
	th, err := m.w.Attach(name, opts...)
	if err != nil {
		m.failf("Attach(%q): %v", name, err)
	}
	m.attached[th.ID()] = th
	m.byID[th.ID()] = th
	m.threads = append(m.threads, th)
	return th
}

// attachSim attaches a thread whose wrapped system calls go through a
// simulated signal handler (internal/modelhooks.SimulateHandler).
func (m *mx) attachSim(name string) *suspend.Thread {
	th := m.attach(name)
	m.sims[th] = modelhooks.SimulateHandler(th)
	return th
}

func (m *mx) detach(th *suspend.Thread) {
	m.detaching[th.ID()] = true
	if err := th.Detach(); err != nil {
		m.failf("Detach(%q): %v", th.Name(), err)
	}
	delete(m.attached, th.ID())
	delete(m.detaching, th.ID())
}

// work is a step of guest code in GC-unsafe mode: it may run only while
// nothing holds the thread stopped.
func (m *mx) work(th *suspend.Thread) {
	seam.Point()
	if n := m.held[th.ID()]; n > 0 {
		m.failf("%s ran guest code while stopped (%d holds; word %v)", th.Name(), n, m.wordOf(th))
	}
}

func (m *mx) wordOf(th *suspend.Thread) ts.Word {
	return m.words[modelhooks.Cell(th).(*ts.Cell)]
}

// actAs makes the calling goroutine act as th: a pre-attached thread was
// attached on another goroutine, and thread-side calls check their
// goroutine in every build (a coroutine's body is handed its thread the
// same way).
func actAs(th *suspend.Thread) { core.Adopt(unsafe.Pointer(th)) }

// guest runs a guest thread's program, one letter per action:
//
//	p  Poll, then a work step
//	b  a blocking region (with a native step inside), then a work step
//	u  a callback into guest code from a blocking region (EnterUnsafe)
//	n  a no-safepoints region with a work step inside, then one after
//	w  a work step
//	s  a wrapped system call through the thread's simulated signal
//	   handler (attachSim), then a work step
//	d  Detach from inside a blocking region (must be last)
func (m *mx) guest(th *suspend.Thread, prog string) {
	if !m.guestSteps(th, prog) {
		m.detach(th)
	}
}

// guestSteps runs guest's actions on th and reports whether the last
// one detached it.
func (m *mx) guestSteps(th *suspend.Thread, prog string) (detached bool) {
	actAs(th)
	for i, a := range prog {
		switch a {
		case 'p':
			safepoint.Poll(th)
			m.work(th)
		case 'b':
			safepoint.EnterSafe(th)
			seam.Point()
			safepoint.ExitSafe(th)
			m.work(th)
		case 'u':
			safepoint.EnterSafe(th)
			c := safepoint.EnterUnsafe(th)
			m.work(th)
			safepoint.ExitUnsafe(th, c)
			safepoint.ExitSafe(th)
		case 'n':
			safepoint.BeginNoSafepoints(th)
			m.work(th)
			safepoint.EndNoSafepoints(th)
			m.work(th)
		case 'w':
			m.work(th)
		case 's':
			m.sims[th]()
			m.work(th)
		case 'd':
			if i != len(prog)-1 {
				panic("d must end a guest program")
			}
			safepoint.EnterSafe(th)
			m.detach(th)
			safepoint.ExitSafe(th)
			return true
		default:
			panic("unknown guest action " + string(a))
		}
	}
	return false
}

// stop stops the world, checks what Stop promises, lets a step pass with
// the world stopped, and restarts it. A failure is allowed only when
// mayTimeOut and the run's timer fired; it must then be a
// *StopTimeoutError, and the rollback must have left nothing held.
func (m *mx) stop(ctx context.Context, mayTimeOut bool, self *suspend.Thread) {
	var opts []suspend.StopOption
	if self != nil {
		opts = append(opts, suspend.By(self))
	}
	call := m.beginCall()
	s, err := m.w.Stop(ctx, opts...)
	m.endCall(call, "Stop", err)
	if err != nil {
		var te *suspend.StopTimeoutError
		if !mayTimeOut || !m.r.TimerFired() || !errors.As(err, &te) {
			m.failf("Stop: %v", err)
		}
		m.rollbacks++
		return
	}
	m.stops++
	infos := s.Threads()
	targets := map[uint64]bool{}
	for _, in := range infos {
		targets[in.ID] = true
		if !m.policy.EndStates().Has(in.Word.State()) {
			m.failf("Stop returned with %s in %v, not an end state of %v", in.Name, in.Word, m.policy)
		}
		m.held[in.ID]++
	}
	for id, th := range m.attached {
		if !targets[id] && !m.detaching[id] && th != self {
			m.failf("Stop returned without stopping %s, attached before it (%v)", th.Name(), th.Word())
		}
	}
	seam.Point() // the world stays stopped for a step
	for _, in := range infos {
		m.held[in.ID]--
	}
	if err := s.Restart(); err != nil {
		m.failf("Restart: %v", err)
	}
}

// suspendOne suspends th, lets a step pass, and resumes it. A thread
// that detached first is an allowed outcome.
func (m *mx) suspendOne(ctx context.Context, th *suspend.Thread, opts ...suspend.StopOption) {
	call := m.beginCall()
	err := m.w.SuspendThread(ctx, th, opts...)
	m.endCall(call, "SuspendThread", err)
	if errors.Is(err, suspend.ErrDetached) {
		return
	}
	if err != nil {
		m.failf("SuspendThread(%s): %v", th.Name(), err)
	}
	if st := th.Word().State(); !m.policy.EndStates().Has(st) {
		m.failf("SuspendThread returned with %s in %v", th.Name(), th.Word())
	}
	m.held[th.ID()]++
	seam.Point()
	m.held[th.ID()]--
	if err := m.w.ResumeThread(th, opts...); err != nil {
		m.failf("ResumeThread(%s): %v", th.Name(), err)
	}
}

// A nudged thread polls only when its OnRequest function nudges it, as
// an otto guest does (contrib/otto): the function puts a token on the
// thread's channel without blocking, and the thread, which otherwise
// waits for a token or its own end, polls when it takes one. The channel
// is a seam.Token, a channel of capacity one like the adapter's, so that
// both sides are scheduling points: the function's TryPut is the
// non-blocking send, and the thread's TakeCtx on its end context is its
// select between a token and its end (the explorer re-evaluates the wait
// at every step, and when both are ready which one it takes is a
// decision of the explorer).
type nudgedThread struct {
	th    *suspend.Thread
	nudge seam.Token
	parks int // its polls that parked
	// rolledBack: a request that found it running was withdrawn since
	// it last parked.
	rolledBack bool
}

// initCall is one Stop or SuspendThread call's dealings with the nudged
// threads: what its request of each found, and how many times it called
// each one's OnRequest function.
type initCall struct {
	found  map[*nudgedThread]ts.Result
	nudges map[*nudgedThread]int
}

// attachNudged pre-attaches a thread named name with OnRequest.
func (m *mx) attachNudged(name string) *nudgedThread {
	n := &nudgedThread{nudge: seam.NewToken("nudge-" + name)}
	n.th = m.preattach(name, suspend.OnRequest(func(th *suspend.Thread) { m.onRequest(n, th) }))
	m.nudged[modelhooks.Cell(n.th).(*ts.Cell)] = n
	return n
}

// onRequest is a nudged thread's OnRequest function: a non-blocking send
// of a token, as contrib/otto's nudge; a token already there will do.
func (m *mx) onRequest(n *nudgedThread, th *suspend.Thread) {
	call := m.calls[goid.G()]
	switch {
	case th != n.th:
		m.failf("%s's OnRequest function was called for %s", n.th.Name(), th.Name())
	case call == nil:
		m.failf("%s's OnRequest function was called outside a Stop or SuspendThread", th.Name())
	}
	call.nudges[n]++
	if !n.nudge.TryPut() {
		seen["nudge: a request found the last nudge still there"] = true
	}
}

// observeNudged follows a nudged thread's transitions, as they take
// effect: a request is credited to the Stop or SuspendThread call that
// made it, on the initiator's goroutine.
func (m *mx) observeNudged(n *nudgedThread, tr ts.Transition) {
	switch {
	case tr.Event == ts.RequestSuspension:
		call := m.calls[goid.G()]
		if call == nil {
			m.failf("%s was requested by a call the scenario does not track", n.th.Name())
		}
		if _, again := call.found[n]; again {
			m.failf("one call requested %s twice", n.th.Name())
		}
		call.found[n] = tr.Result
	case tr.Event == ts.StatePoll && tr.Result == ts.SelfSuspendNotifyAndWait:
		n.parks++
		n.rolledBack = false
	case tr.Event == ts.AbortAsyncSuspend && tr.Result == ts.True:
		n.rolledBack = true
	}
}

// beginCall registers a Stop or SuspendThread call about to be made on
// the calling goroutine, if the scenario has nudged threads.
func (m *mx) beginCall() *initCall {
	if len(m.nudged) == 0 {
		return nil
	}
	call := &initCall{found: map[*nudgedThread]ts.Result{}, nudges: map[*nudgedThread]int{}}
	m.calls[goid.G()] = call
	return call
}

// endCall checks, as a Stop or SuspendThread returns (err is what it
// returned), that it called each nudged thread's OnRequest function
// exactly once if its request found the thread running, and never if it
// found it in a blocking region or held already, or did not request it.
// Whether the call came after the request was on the word, and before
// the initiator waited, is checked by what follows from it: the thread
// must reach its poll, or the stop waits forever (a deadlock) or, if
// the timer fires, times out.
func (m *mx) endCall(call *initCall, op string, err error) {
	if call == nil {
		return
	}
	delete(m.calls, goid.G())
	for _, n := range m.nudged {
		res, requested := call.found[n]
		want, what := 0, "did not request "+n.th.Name()
		if requested {
			what = fmt.Sprintf("requested %s (%v)", n.th.Name(), res)
			if res == ts.ReqSuspendInitSuspendRunning {
				want = 1
			}
		}
		if got := call.nudges[n]; got != want {
			m.failf("%s (returning %v) %s and called its OnRequest function %d times, want %d",
				op, err, what, got, want)
		}
	}
}

// nudgedGuest runs a nudged thread: first the guest program prog (see
// guest; no Poll, no Detach), then, until end is done, a poll and a work
// step per nudge taken. It polls only when nudged.
func (m *mx) nudgedGuest(n *nudgedThread, prog string, end context.Context) {
	th := n.th
	m.guestSteps(th, prog)
	for n.nudge.TakeCtx(end) == nil {
		parks := n.parks
		safepoint.Poll(th)
		if n.parks == parks && n.rolledBack {
			// The nudge of a withdrawn request: nothing to stop for,
			// and the thread runs on (m.work checks that nothing
			// holds it).
			seen["nudge: a poll for nothing after a rollback"] = true
		}
		m.work(th)
	}
	m.detach(th)
}

// ending is the end of a nudged thread's wait: its context is cancelled
// when the last of the scenario's initiators calls done.
type ending struct {
	ctx  context.Context
	left int
	stop context.CancelFunc
}

func endAfter(initiators int) *ending {
	ctx, cancel := context.WithCancel(context.Background())
	return &ending{ctx: ctx, left: initiators, stop: cancel}
}

func (e *ending) done() {
	if e.left--; e.left == 0 {
		e.stop()
	}
}

// step is the check before every scheduling decision: every word is
// well formed (CheckWord), and a thread that a completed stop or
// SuspendThread holds is, at every step and not only when it tries to
// run guest code, in an end state of the policy with at least one count
// per hold.
func (m *mx) step() error {
	for _, w := range m.words {
		if err := ts.CheckWord(w); err != nil {
			return err
		}
	}
	for id, n := range m.held {
		if n == 0 {
			continue
		}
		th := m.byID[id]
		w := m.words[modelhooks.Cell(th).(*ts.Cell)]
		if !m.policy.EndStates().Has(w.State()) || w.Count() < n {
			return fmt.Errorf("%s is held %d times but its word is %v", th.Name(), n, w)
		}
	}
	return nil
}

// end is the check after every goroutine finished.
func (m *mx) end() error {
	defer close(m.owners)
	if err := modelhooks.Balanced(m.w); err != nil {
		return err
	}
	for _, tk := range m.r.Tokens() {
		switch {
		case tk.What == "resume" && tk.Full:
			return errors.New("a resume semaphore holds a wake-up nobody took (posted twice, or without a park)")
		case tk.What == "lock" && tk.Full:
			return errors.New("the suspend lock is still held")
		case strings.HasPrefix(tk.What, "handler-") && tk.Full:
			return fmt.Errorf("the simulated handler's %s was left posted", tk.What)
		}
	}
	for _, th := range m.threads {
		if wd := th.Word(); wd.State() != ts.Detached || wd.Count() != 0 {
			return fmt.Errorf("%s ended in %v, want DETACHED with count 0", th.Name(), wd)
		}
	}
	// Close fails while a thread is attached or a call holds the world;
	// it also gives a hybrid world's signal handler install back.
	return m.w.Close()
}

// scenario is a program for the explorer.
type scenario struct {
	name   string
	policy suspend.Policy
	// timer: the initiators' context may time out at any point.
	timer bool
	// reach lists transitions ("EVENT -> RESULT in STATE") that some
	// execution must take: the paths the scenario is there to explore.
	reach []string
	setup func(m *mx, ctx context.Context)
}

func (sc scenario) program(t *testing.T) seam.Program {
	return func(r *seam.Run) func() error {
		m := &mx{t: t, r: r, policy: sc.policy,
			held: map[uint64]int{}, attached: map[uint64]*suspend.Thread{}, detaching: map[uint64]bool{},
			sims: map[*suspend.Thread]func(){}, byID: map[uint64]*suspend.Thread{},
			checkers: map[*ts.Cell]*ts.Checker{}, words: map[*ts.Cell]ts.Word{}, owners: make(chan struct{}),
			nudged: map[*ts.Cell]*nudgedThread{}, calls: map[uintptr]*initCall{}}
		m.w = newWorld(t, suspend.WithPolicy(sc.policy))
		ctx := context.Background()
		if sc.timer {
			ctx = r.TimerContext(ctx, context.DeadlineExceeded)
		}
		current = m
		r.OnStep(m.step)
		modelhooks.ForgetHandlers()
		sc.setup(m, ctx)
		return m.end
	}
}

// preattached attaches threads before the execution starts, so that the
// exploration spends its steps on the stop; the scenario's goroutines
// then use them. Each is attached on a goroutine of its own (a goroutine
// is one thread) that stays alive until the execution's end checks are
// done: a stop that gives up takes a thread whose attaching goroutine
// has ended for abandoned (docs/design.md).
func (m *mx) preattached(names ...string) []*suspend.Thread {
	var out []*suspend.Thread
	for _, n := range names {
		out = append(out, m.preattach(n))
	}
	return out
}

func (m *mx) preattach(name string, opts ...suspend.AttachOption) *suspend.Thread {
	got := make(chan *suspend.Thread)
	go func() {
		got <- m.attach(name, opts...)
		<-m.owners
	}()
	return <-got
}

var scenarios = []scenario{
	{name: "stop-vs-poll-block-nosafepoints", policy: suspend.Coop, reach: []string{
		"STATE_POLL -> SelfSuspendNotifyAndWait in ASYNC_SUSPEND_REQUESTED",
		"DONE_BLOCKING -> DoneBlockingWait in BLOCKING_SUSPEND_REQUESTED",
		"BEGIN_NO_SAFEPOINTS -> NoResult in ASYNC_SUSPEND_REQUESTED",
		"END_NO_SAFEPOINTS -> NoResult in ASYNC_SUSPEND_REQUESTED",
		"DO_BLOCKING -> DoBlockingPollAndRetry in ASYNC_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A", "B")
			m.r.Go("init", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(th[0], "pn") })
			m.r.Go("B", func() { m.guest(th[1], "bp") })
		}},
	{name: "stop-vs-callback-and-detach-in-region", policy: suspend.Coop, reach: []string{
		"ABORT_BLOCKING -> AbortBlockingWait in BLOCKING_SUSPEND_REQUESTED",
		"DETACH -> True in BLOCKING",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A", "B")
			m.r.Go("init", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(th[0], "u") })
			m.r.Go("B", func() { m.guest(th[1], "pd") })
		}},
	{name: "two-stops-in-a-row", policy: suspend.Coop, reach: []string{
		"REQUEST_RESUME -> ResumeInitBlockingResume in BLOCKING_SELF_SUSPENDED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("init", func() { m.stop(ctx, false, nil); m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(th[0], "pbp") })
		}},
	{name: "timeout-rollback-vs-poll", policy: suspend.Coop, timer: true, reach: []string{
		"ABORT_ASYNC_SUSPEND -> True in ASYNC_SUSPEND_REQUESTED",
		"ABORT_ASYNC_SUSPEND -> False in SELF_SUSPENDED",
		"REQUEST_RESUME -> ResumeOk in BLOCKING_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A", "B")
			m.r.Go("init", func() { m.stop(ctx, true, nil) })
			m.r.Go("A", func() { m.guest(th[0], "p") })
			m.r.Go("B", func() { m.guest(th[1], "b") })
		}},
	{name: "stop-after-rollback", policy: suspend.Coop, timer: true,
		reach: []string{
			"ABORT_ASYNC_SUSPEND -> True in ASYNC_SUSPEND_REQUESTED",
			"ABORT_ASYNC_SUSPEND -> False in SELF_SUSPENDED",
		},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("init", func() {
				m.stop(ctx, true, nil)
				m.stop(context.Background(), false, nil) // the world is usable after a rollback
			})
			m.r.Go("A", func() { m.guest(th[0], "pp") })
		}},
	{name: "suspend-then-stop-one-initiator", policy: suspend.Coop, reach: []string{
		"REQUEST_SUSPENSION -> ReqSuspendAlreadySuspended in SELF_SUSPENDED",
		"REQUEST_RESUME -> ResumeOk in SELF_SUSPENDED",
		"DETACH -> False in BLOCKING_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("init", func() {
				err := m.w.SuspendThread(ctx, th[0])
				if errors.Is(err, suspend.ErrDetached) { // A was quicker
					m.stop(ctx, false, nil)
					return
				}
				if err != nil {
					m.failf("SuspendThread: %v", err)
				}
				m.held[th[0].ID()]++
				m.stop(ctx, false, nil)
				m.held[th[0].ID()]--
				if err := m.w.ResumeThread(th[0]); err != nil {
					m.failf("ResumeThread: %v", err)
				}
			})
			m.r.Go("A", func() { m.guest(th[0], "pbp") })
		}},
	{name: "suspend-vs-stop-two-initiators", policy: suspend.Coop, reach: []string{
		"REQUEST_SUSPENSION -> ReqSuspendAlreadySuspended in SELF_SUSPENDED",
		"REQUEST_SUSPENSION -> ReqSuspendAlreadySuspendedBlocking in BLOCKING_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("stopper", func() { m.stop(ctx, false, nil) })
			m.r.Go("suspender", func() { m.suspendOne(ctx, th[0]) })
			m.r.Go("A", func() { m.guest(th[0], "pb") })
		}},
	{name: "resume-vs-restart-blocking-target", policy: suspend.Coop, reach: []string{
		"REQUEST_SUSPENSION -> ReqSuspendAlreadySuspended in BLOCKING_SELF_SUSPENDED",
		"REQUEST_RESUME -> ResumeOk in BLOCKING_SELF_SUSPENDED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("stopper", func() { m.stop(ctx, false, nil) })
			m.r.Go("suspender", func() { m.suspendOne(ctx, th[0]) })
			m.r.Go("A", func() { m.guest(th[0], "bb") })
		}},
	{name: "attach-detach-during-stop", policy: suspend.Coop, reach: []string{
		"REQUEST_SUSPENSION -> ReqSuspendInitSuspendRunning in RUNNING",
		"ATTACH -> NoResult in STARTING",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("init", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(th[0], "p") })
			m.r.Go("late", func() { m.guest(m.attach("late"), "p") })
		}},
	{name: "two-initiators", policy: suspend.Coop, reach: []string{
		"STATE_POLL -> SelfSuspendNotifyAndWait in ASYNC_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("i1", func() { m.stop(ctx, false, nil) })
			m.r.Go("i2", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(th[0], "p") })
		}},
	// A thread that polls only when OnRequest's function nudges it
	// (nudgedGuest): it waits for a nudge or its end, which comes when
	// the initiators are done, so a nudge that does not bring it to its
	// poll after the request leaves a stop waiting forever. Here a Stop
	// and a SuspendThread find it running, in its blocking region or
	// held; in the next scenario a request is rolled back, and its
	// nudge polls for nothing.
	{name: "nudge-only-poller", policy: suspend.Coop, reach: []string{
		"REQUEST_SUSPENSION -> ReqSuspendInitSuspendRunning in RUNNING",
		"REQUEST_SUSPENSION -> ReqSuspendInitSuspendBlocking in BLOCKING",
		"REQUEST_SUSPENSION -> ReqSuspendAlreadySuspended in SELF_SUSPENDED",
		"STATE_POLL -> SelfSuspendNotifyAndWait in ASYNC_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			a := m.attachNudged("A")
			end := endAfter(2)
			m.r.Go("stopper", func() { m.stop(ctx, false, nil); end.done() })
			m.r.Go("suspender", func() { m.suspendOne(ctx, a.th); end.done() })
			m.r.Go("A", func() { m.nudgedGuest(a, "b", end.ctx) })
		}},
	{name: "nudge-only-poller-rollback", policy: suspend.Coop, timer: true, reach: []string{
		"ABORT_ASYNC_SUSPEND -> True in ASYNC_SUSPEND_REQUESTED",
		"STATE_POLL -> SelfSuspendNotifyAndWait in ASYNC_SUSPEND_REQUESTED",
		"nudge: a poll for nothing after a rollback",
		"nudge: a request found the last nudge still there",
	},
		setup: func(m *mx, ctx context.Context) {
			a := m.attachNudged("A")
			end := endAfter(1)
			m.r.Go("init", func() {
				m.stop(ctx, true, nil)
				m.stop(context.Background(), false, nil)
				end.done()
			})
			m.r.Go("A", func() { m.nudgedGuest(a, "b", end.ctx) })
		}},
	{name: "initiator-thread-by-self", policy: suspend.Coop, reach: []string{
		"REQUEST_SUSPENSION -> ReqSuspendInitSuspendBlocking in BLOCKING",
	},
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A", "I")
			m.r.Go("i1", func() { m.stop(ctx, false, nil) })
			m.r.Go("I", func() {
				actAs(th[1])
				m.stop(ctx, false, th[1])
				m.guest(th[1], "p")
			})
			m.r.Go("A", func() { m.guest(th[0], "p") })
		}},
}

// The hybrid policy without the asynchronous park: its threads attach
// on their own goroutines (locked to their OS threads), and the stop's
// mop-up phase peeks at the threads left in their blocking regions.
// None is inside a wrapped system call, so none is signalled: the
// handler's side is not explored (docs/design.md).
var hybridScenarios = []scenario{
	{name: "hybrid-stop-vs-poll-and-block", policy: suspend.Hybrid, reach: []string{
		"PEEK_BLOCKING_SUSPEND_REQUESTED -> True in BLOCKING_SUSPEND_REQUESTED",
		"PEEK_BLOCKING_SUSPEND_REQUESTED -> False in BLOCKING_SELF_SUSPENDED",
	},
		setup: func(m *mx, ctx context.Context) {
			m.r.Go("init", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(m.attach("A"), "p") })
			m.r.Go("B", func() { m.guest(m.attach("B"), "b") })
		}},
	{name: "hybrid-suspend-vs-stop", policy: suspend.Hybrid, reach: []string{
		"PEEK_BLOCKING_SUSPEND_REQUESTED -> True in BLOCKING_SUSPEND_REQUESTED",
	},
		setup: func(m *mx, ctx context.Context) {
			ready := seam.NewToken("scenario")
			var a *suspend.Thread
			m.r.Go("stopper", func() { m.stop(ctx, false, nil) })
			m.r.Go("suspender", func() {
				ready.Take()
				m.suspendOne(ctx, a)
			})
			m.r.Go("A", func() {
				a = m.attach("A")
				ready.TryPut()
				m.guest(a, "b")
			})
		}},
}

// The asynchronous park, with the handler's side simulated through the
// seam (internal/modelhooks.SimulateHandler): a thread in a wrapped system call is parked
// by the mop-up phase (hybrid) or at once (preemptive), finished on the
// handler's behalf, and released by the restart, a ResumeThread or a
// rollback.
var asyncScenarios = []scenario{
	{name: "hybrid-stop-vs-async-park", policy: suspend.Hybrid,
		reach: []string{
			"FINISH_ASYNC_SUSPEND -> True in BLOCKING_SUSPEND_REQUESTED",
			"REQUEST_RESUME -> ResumeInitAsyncResume in BLOCKING_ASYNC_SUSPENDED",
			"STATE_POLL -> SelfSuspendNotifyAndWait in ASYNC_SUSPEND_REQUESTED",
		},
		setup: func(m *mx, ctx context.Context) {
			m.r.Go("init", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(m.attachSim("A"), "s") })
			m.r.Go("B", func() { m.guest(m.attach("B"), "p") })
		}},
	{name: "preemptive-stops-vs-async-park", policy: suspend.Preemptive,
		reach: []string{
			"FINISH_ASYNC_SUSPEND -> True in BLOCKING_SUSPEND_REQUESTED",
			"REQUEST_RESUME -> ResumeInitAsyncResume in BLOCKING_ASYNC_SUSPENDED",
			"DONE_BLOCKING -> DoneBlockingWait in BLOCKING_SUSPEND_REQUESTED",
		},
		setup: func(m *mx, ctx context.Context) {
			m.r.Go("init", func() { m.stop(ctx, false, nil); m.stop(ctx, false, nil) })
			m.r.Go("A", func() { m.guest(m.attachSim("A"), "s") })
		}},
	{name: "preemptive-timeout-after-async-park", policy: suspend.Preemptive, timer: true,
		reach: []string{
			"FINISH_ASYNC_SUSPEND -> True in BLOCKING_SUSPEND_REQUESTED",
			"ABORT_ASYNC_SUSPEND -> True in ASYNC_SUSPEND_REQUESTED",
			"REQUEST_RESUME -> ResumeInitAsyncResume in BLOCKING_ASYNC_SUSPENDED",
		},
		setup: func(m *mx, ctx context.Context) {
			m.r.Go("init", func() { m.stop(ctx, true, nil) })
			m.r.Go("A", func() { m.guest(m.attachSim("A"), "s") })
			m.r.Go("B", func() { m.guest(m.attach("B"), "p") })
		}},
	{name: "hybrid-suspend-vs-stop-async", policy: suspend.Hybrid,
		reach: []string{
			"FINISH_ASYNC_SUSPEND -> True in BLOCKING_SUSPEND_REQUESTED",
			"REQUEST_SUSPENSION -> ReqSuspendAlreadySuspended in BLOCKING_ASYNC_SUSPENDED",
			"REQUEST_RESUME -> ResumeOk in BLOCKING_ASYNC_SUSPENDED",
		},
		setup: func(m *mx, ctx context.Context) {
			ready := seam.NewToken("scenario")
			var a *suspend.Thread
			m.r.Go("stopper", func() { m.stop(ctx, false, nil) })
			m.r.Go("suspender", func() {
				ready.Take()
				m.suspendOne(ctx, a)
			})
			m.r.Go("A", func() {
				a = m.attachSim("A")
				ready.TryPut()
				m.guest(a, "s")
			})
		}},
}

func init() {
	scenarios = append(scenarios, hybridScenarios...)
	scenarios = append(scenarios, asyncScenarios...)
}

func TestModel(t *testing.T) {
	if *modelReplay != "" {
		name, sched, _ := strings.Cut(*modelReplay, "=")
		for _, sc := range scenarios {
			if sc.name == name {
				seen = map[string]bool{}
				if f := seam.Replay(sc.program(t), sched); f != nil {
					t.Fatalf("%s: %v", name, f)
				}
				t.Logf("%s: the schedule passes", name)
				return
			}
		}
		t.Fatalf("no scenario %q", name)
	}
	cfg := modelConfig()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			seen = map[string]bool{}
			st, f := seam.Explore(sc.program(t), cfg)
			current = nil
			if f != nil {
				t.Fatalf("coopmodel: FAIL scenario=%s bound=%d preemptions=%d steps=%d execution=%d phase=%q\n%v\n"+
					"replay: go test -tags coopmodel -run 'TestModel$' ./internal/modelcheck -coopmodel.replay='%s=%s'",
					sc.name, cfg.Bound, f.Preemptions, f.Steps, f.Execution, f.Phase, f, sc.name, f.Schedule)
			}
			t.Logf("%s (%v, bound %d): %v", sc.name, sc.policy, cfg.Bound, st)
			for _, tr := range sc.reach {
				if !seen[tr] {
					t.Errorf("no execution took %s", tr)
				}
			}
			if *modelSeen {
				var all []string
				for tr := range seen {
					all = append(all, tr)
				}
				sort.Strings(all)
				t.Logf("transitions taken:\n  %s", strings.Join(all, "\n  "))
			}
		})
	}
}

// TestModelChecksCanFail: no mutant shows the mutual-exclusion check
// firing. A thread that runs on while a stop holds it (a poll that posts
// its arrival and does not park, tried in three scenarios) had its next
// transition refused first: the depth-first search's first execution lets
// it go on, and the search stops at the first failure. A guest that breaks
// the rule on its own shows that the check fires: it runs GC-unsafe code
// inside its blocking region, where a stop counts it as stopped.
func TestModelChecksCanFail(t *testing.T) {
	sc := scenario{name: "guest-code-inside-a-region", policy: suspend.Coop,
		setup: func(m *mx, ctx context.Context) {
			th := m.preattached("A")
			m.r.Go("init", func() { m.stop(ctx, false, nil) })
			m.r.Go("A", func() {
				actAs(th[0])
				safepoint.EnterSafe(th[0])
				m.work(th[0]) // wrong: guest code in a blocking region
				safepoint.ExitSafe(th[0])
				m.detach(th[0])
			})
		}}
	seen = map[string]bool{}
	_, f := seam.Explore(sc.program(t), seam.Config{Bound: 2})
	current = nil
	if f == nil || !strings.Contains(f.Err.Error(), "A ran guest code while stopped") {
		t.Fatalf("%s: want the mutual-exclusion check to fail, got %v", sc.name, f)
	}
	t.Logf("%s: found by %s in execution %d, with %d preemptions: %v", sc.name, f.Phase, f.Execution, f.Preemptions, f.Err)
}

// newWorld makes the scenario's world; end closes it.
func newWorld(t *testing.T, opts ...suspend.Option) *suspend.World {
	w, err := suspend.NewWorld(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
