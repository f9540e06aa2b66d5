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
	}
}

func (m *mx) failf(format string, args ...any) { m.r.Fail(fmt.Errorf(format, args...)) }

// attach attaches a thread named name from the calling goroutine.
func (m *mx) attach(name string) *suspend.Thread {
	th, err := m.w.Attach(name)
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
			return
		default:
			panic("unknown guest action " + string(a))
		}
	}
	m.detach(th)
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
	s, err := m.w.Stop(ctx, opts...)
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
	err := m.w.SuspendThread(ctx, th, opts...)
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
			checkers: map[*ts.Cell]*ts.Checker{}, words: map[*ts.Cell]ts.Word{}, owners: make(chan struct{})}
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
		got := make(chan *suspend.Thread)
		go func() {
			got <- m.attach(n)
			<-m.owners
		}()
		out = append(out, <-got)
	}
	return out
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
