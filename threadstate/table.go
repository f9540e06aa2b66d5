package threadstate

// This file is the state machine: one table, indexed by event and state,
// that Step, the generated documentation (docs/state-machine.md) and the
// tests all read. It transcribes Mono's transition functions
// (mono-threads-state-machine.c; docs/mono-protocol.md §3), cell by cell,
// with their preconditions. Section numbers (§) in this package refer to
// docs/mono-protocol.md.
//
// A cell (a rule) either refuses the event outright or names:
//
//   - checks: preconditions on the count and the no-safepoints flag. Mono
//     treats a failed check as fatal; Step returns a *TransitionError.
//   - arms: the outcomes, chosen by the suspend count (Mono's "n > 1" and
//     "n == 1" branches). The first arm whose count range holds applies.
//
// An empty cell refuses the event with the event's default reason. Cells
// that keep one of Mono's quirks on purpose, or differ from Mono, carry a
// note (QUIRK, DIFF) that the documentation prints beside them.

// countRange is an inclusive range of suspend counts.
type countRange struct{ lo, hi uint8 }

var (
	anyCount      = countRange{0, MaxCount}
	zeroCount     = countRange{0, 0}
	positiveCount = countRange{1, MaxCount}
	countOne      = countRange{1, 1}
	countAboveOne = countRange{2, MaxCount}
	// incrementable is Mono's "0 < n < THREAD_SUSPEND_COUNT_MAX": a
	// stopped thread's count is at least one and may grow by one more.
	incrementable = countRange{1, MaxCount - 1}
)

func (r countRange) has(n int) bool { return n >= int(r.lo) && n <= int(r.hi) }

// check is one precondition of a cell. Exactly one of count and flag is
// meaningful, as chosen by the constructor.
type check struct {
	count countRange
	flag  flagCheck
	why   string // the reason given when the check fails
}

type flagCheck uint8

const (
	flagAny flagCheck = iota
	flagClear
	flagSet
)

func (c check) holds(w Word) bool {
	switch c.flag {
	case flagClear:
		return !w.NoSafepoints()
	case flagSet:
		return w.NoSafepoints()
	}
	return c.count.has(w.Count())
}

func countIs(r countRange, why string) check { return check{count: r, why: why} }
func noSafepointsClear(why string) check     { return check{flag: flagClear, why: why} }
func noSafepointsSet(why string) check       { return check{flag: flagSet, why: why} }

// The checks most cells share.
var (
	notCounted = countIs(zeroCount, "an unrequested thread must have suspend count 0")
	counted    = countIs(positiveCount, "a requested or stopped thread must have suspend count > 0")
	// belowMax guards every increment.
	belowMax = countIs(incrementable,
		"the suspend count of a requested or stopped thread must be in 1..254 to take one more suspender")
	safepointsAllowed = noSafepointsClear("the thread is inside a no-safepoints region")
)

// countOp and flagOp say how an arm changes the count and the flag.
type countOp int8

const (
	keepCount countOp = 0
	incCount  countOp = 1
	decCount  countOp = -1
)

type flagOp uint8

const (
	keepFlag flagOp = iota
	setFlag
	clearFlag
)

// arm is one outcome of a cell.
type arm struct {
	when   countRange
	next   State // the new state, or sameState
	count  countOp
	flag   flagOp
	result Result
}

// sameState as an arm's next state leaves the state field unchanged.
const sameState State = 0xff

// rule is one cell of the table.
type rule struct {
	refusal string // why the event is refused in this state ("" = default)
	checks  []check
	arms    []arm
	note    string // a quirk kept from Mono, or a difference from it (docs)
}

func (r *rule) refused() bool { return len(r.arms) == 0 }

// Constructors that keep the table below readable.

func refuse(why string) rule { return rule{refusal: why} }

func allow(checks []check, arms ...arm) rule { return rule{checks: checks, arms: arms} }

// noted attaches a note to a cell, printed with it in the documentation.
func noted(note string, r rule) rule { r.note = note; return r }

func checks(c ...check) []check { return c }

// to is the arm for every count the checks let through.
func to(next State, c countOp, f flagOp, r Result) arm {
	return arm{when: anyCount, next: next, count: c, flag: f, result: r}
}

func when(n countRange, a arm) arm { a.when = n; return a }

// eventRefusals is the reason an event is refused in a state whose cell has
// no reason of its own.
var eventRefusals = [NumEvents]string{
	Attach:                       "only a Starting thread can attach",
	Detach:                       "only an executing, attached thread can detach; a stopped thread must be resumed first",
	RequestSuspension:            "only an attached thread can be asked to suspend",
	PeekBlockingSuspendRequested: "the first phase of the stop should have requested this thread (peek is for the mop-up phase)",
	StatePoll:                    "only an executing GC-unsafe thread polls: blocking regions have no safepoints and a stopped thread does not run",
	RequestResume:                "only a requested or stopped thread can be resumed",
	RequestPulse:                 "only a BlockingAsyncSuspended thread can be pulsed",
	AbortAsyncSuspend:            "only a requested suspend can be aborted",
	FinishAsyncSuspend:           "no asynchronous suspend was requested",
	DoBlocking:                   "only an executing GC-unsafe thread can enter a blocking region",
	DoneBlocking:                 "the thread is not inside a blocking region",
	AbortBlocking:                "only an executing thread can enter GC-unsafe mode",
	BeginNoSafepoints:            "only an executing GC-unsafe thread can open a no-safepoints region",
	EndNoSafepoints:              "only an executing GC-unsafe thread can close a no-safepoints region",
}

var table = [NumEvents][NumStates]rule{
	// attach (§3.1): the thread registers itself.
	Attach: {
		Starting: allow(checks(countIs(zeroCount, "a Starting word must have count 0"),
			noSafepointsClear("a Starting word must not have the no-safepoints flag")),
			to(Running, keepCount, keepFlag, NoResult)),
		Running: refuse("the thread is already attached"),
	},

	// detach (§3.2): the thread unregisters itself. With a request
	// pending it answers False and changes nothing; the caller lets the
	// requester finish (polls, or waits for the resume) and retries.
	Detach: {
		Running: allow(checks(countIs(zeroCount, "a Running thread must have count 0"),
			noSafepointsClear("cannot detach inside a no-safepoints region")),
			to(Detached, keepCount, keepFlag, True)),
		Blocking: allow(checks(countIs(zeroCount, "a Blocking thread must have count 0"),
			noSafepointsClear("a Blocking thread must not have the no-safepoints flag")),
			to(Detached, keepCount, keepFlag, True)),
		AsyncSuspendRequested:    allow(nil, to(sameState, keepCount, keepFlag, False)),
		BlockingSuspendRequested: allow(nil, to(sameState, keepCount, keepFlag, False)),
	},

	// request_suspension (§3.3): the initiator adds a suspender.
	RequestSuspension: {
		// The no-safepoints flag is carried over: the thread will stop
		// at its first poll after the region.
		Running: allow(checks(countIs(zeroCount, "a Running thread must have count 0")),
			to(AsyncSuspendRequested, incCount, keepFlag, ReqSuspendInitSuspendRunning)),
		AsyncSuspended: allow(checks(safepointsAllowed, belowMax),
			to(sameState, incCount, keepFlag, ReqSuspendAlreadySuspended)),
		SelfSuspended: allow(checks(safepointsAllowed, belowMax),
			to(sameState, incCount, keepFlag, ReqSuspendAlreadySuspended)),
		AsyncSuspendRequested: refuse("a suspend of this thread is already in progress: only one initiator may run at a time"),
		Blocking: allow(checks(countIs(zeroCount, "a Blocking thread must have count 0"), safepointsAllowed),
			to(BlockingSuspendRequested, incCount, keepFlag, ReqSuspendInitSuspendBlocking)),
		BlockingAsyncSuspended: allow(checks(safepointsAllowed, belowMax),
			to(sameState, incCount, keepFlag, ReqSuspendAlreadySuspended)),
		BlockingSelfSuspended: allow(checks(safepointsAllowed, belowMax),
			to(sameState, incCount, keepFlag, ReqSuspendAlreadySuspended)),
		BlockingSuspendRequested: allow(checks(safepointsAllowed, belowMax),
			to(sameState, incCount, keepFlag, ReqSuspendAlreadySuspendedBlocking)),
	},

	// peek_blocking_suspend_requested (§3.4): read-only; True when the
	// hybrid mop-up phase must still preempt the thread.
	PeekBlockingSuspendRequested: {
		AsyncSuspended:           allow(nil, to(sameState, keepCount, keepFlag, False)),
		SelfSuspended:            allow(nil, to(sameState, keepCount, keepFlag, False)),
		BlockingAsyncSuspended:   allow(checks(belowMax, safepointsAllowed), to(sameState, keepCount, keepFlag, False)),
		BlockingSelfSuspended:    allow(checks(belowMax, safepointsAllowed), to(sameState, keepCount, keepFlag, False)),
		BlockingSuspendRequested: allow(checks(belowMax, safepointsAllowed), to(sameState, keepCount, keepFlag, True)),
	},

	// state_poll (§3.5): the safepoint.
	StatePoll: {
		Running: allow(checks(noSafepointsClear("poll inside a no-safepoints region"),
			countIs(zeroCount, "a Running thread must have count 0")),
			to(sameState, keepCount, keepFlag, SelfSuspendResumed)),
		AsyncSuspendRequested: allow(checks(noSafepointsClear("poll inside a no-safepoints region"), counted),
			to(SelfSuspended, keepCount, keepFlag, SelfSuspendNotifyAndWait)),
	},

	// request_resume (§3.6): the initiator drops a suspender; the last
	// one restarts the thread. The count never goes below zero and no
	// resume is banked for a later suspend.
	RequestResume: {
		Running: allow(checks(countIs(zeroCount, "a Running thread must have count 0")),
			to(sameState, keepCount, keepFlag, ResumeError)),
		Blocking: allow(checks(countIs(zeroCount, "a Blocking thread must have count 0"), safepointsAllowed),
			to(sameState, keepCount, keepFlag, ResumeError)),
		BlockingSuspendRequested: allow(checks(counted, safepointsAllowed),
			when(countAboveOne, to(sameState, decCount, keepFlag, ResumeOk)),
			when(countOne, to(Blocking, decCount, keepFlag, ResumeOk))),
		BlockingAsyncSuspended: allow(checks(counted, safepointsAllowed),
			when(countAboveOne, to(sameState, decCount, keepFlag, ResumeOk)),
			when(countOne, to(Blocking, decCount, keepFlag, ResumeInitAsyncResume))),
		// The resumed thread finishes the DoneBlocking or AbortBlocking
		// it was parked in, so it resumes Running.
		BlockingSelfSuspended: allow(checks(safepointsAllowed, counted),
			when(countAboveOne, to(sameState, decCount, keepFlag, ResumeOk)),
			when(countOne, to(Running, decCount, keepFlag, ResumeInitBlockingResume))),
		AsyncSuspended: allow(checks(safepointsAllowed, counted),
			when(countAboveOne, to(sameState, decCount, keepFlag, ResumeOk)),
			when(countOne, to(Running, decCount, keepFlag, ResumeInitAsyncResume))),
		SelfSuspended: allow(checks(safepointsAllowed, counted),
			when(countAboveOne, to(sameState, decCount, keepFlag, ResumeOk)),
			when(countOne, to(Running, decCount, keepFlag, ResumeInitSelfResume))),
		AsyncSuspendRequested: refuse("the suspend is still in progress: resume after the thread has stopped, or abort the suspend"),
	},

	// request_pulse (§3.7): hybrid critical-location retry only.
	RequestPulse: {
		BlockingAsyncSuspended: noted(quirkPulseCount, allow(checks(countIs(countOne, "a pulse needs suspend count exactly 1: another suspender holds the thread"),
			safepointsAllowed),
			to(BlockingSuspendRequested, keepCount, keepFlag, PulseInitAsyncPulse))),
		Running:                  refuse("the thread is not suspended: the single initiator would already hold it stopped"),
		Blocking:                 refuse("the thread is not suspended: the single initiator would already hold it stopped"),
		AsyncSuspendRequested:    refuse("a suspend or pulse is already in flight"),
		BlockingSuspendRequested: refuse("a suspend or pulse is already in flight"),
		AsyncSuspended:           refuse("hybrid suspend never parks GC-unsafe threads asynchronously"),
		SelfSuspended:            refuse("a self-suspended thread is never in a critical location"),
		BlockingSelfSuspended:    refuse("a self-suspended thread is never in a critical location"),
	},

	// abort_async_suspend (§3.8): the initiator rolls back a request.
	AbortAsyncSuspend: {
		SelfSuspended:         allow(checks(safepointsAllowed), to(sameState, keepCount, keepFlag, False)),
		BlockingSelfSuspended: allow(checks(safepointsAllowed), to(sameState, keepCount, keepFlag, False)),
		AsyncSuspendRequested: noted(diffAbortNoSafepoints, allow(checks(counted),
			when(countAboveOne, to(sameState, decCount, keepFlag, True)),
			when(countOne, to(Running, decCount, keepFlag, True)))),
		BlockingSuspendRequested: noted(quirkAbortToRunning, allow(checks(counted, safepointsAllowed),
			when(countAboveOne, to(sameState, decCount, keepFlag, True)),
			when(countOne, to(Running, decCount, keepFlag, True)))),
	},

	// finish_async_suspend (§3.9): the target's signal handler.
	FinishAsyncSuspend: {
		SelfSuspended:         allow(checks(safepointsAllowed), to(sameState, keepCount, keepFlag, False)),
		BlockingSelfSuspended: allow(checks(safepointsAllowed), to(sameState, keepCount, keepFlag, False)),
		AsyncSuspendRequested: allow(checks(counted,
			noSafepointsClear("an asynchronous suspend must never see a no-safepoints region")),
			to(AsyncSuspended, keepCount, keepFlag, True)),
		BlockingSuspendRequested: allow(checks(counted, safepointsAllowed),
			to(BlockingAsyncSuspended, keepCount, keepFlag, True)),
	},

	// do_blocking (§3.10): enter a GC-safe region.
	DoBlocking: {
		Running: allow(checks(notCounted, safepointsAllowed),
			to(Blocking, keepCount, keepFlag, DoBlockingContinue)),
		AsyncSuspendRequested: allow(checks(counted, safepointsAllowed),
			to(sameState, keepCount, keepFlag, DoBlockingPollAndRetry)),
		Blocking:                 refuse("blocking regions do not nest"),
		BlockingSuspendRequested: refuse("blocking regions do not nest"),
	},

	// done_blocking (§3.11): leave a GC-safe region.
	DoneBlocking: {
		Blocking: allow(checks(notCounted, safepointsAllowed),
			to(Running, keepCount, keepFlag, DoneBlockingOk)),
		BlockingSuspendRequested: allow(checks(counted, safepointsAllowed),
			to(BlockingSelfSuspended, keepCount, keepFlag, DoneBlockingWait)),
	},

	// abort_blocking (§3.12): enter GC-unsafe mode from either mode.
	AbortBlocking: {
		Running: noted(diffAbortBlockingNoWrite,
			allow(checks(noSafepointsClear("cannot enter GC-unsafe mode inside a no-safepoints region")),
				to(sameState, keepCount, keepFlag, AbortBlockingIgnore))),
		AsyncSuspendRequested: allow(checks(noSafepointsClear("cannot enter GC-unsafe mode inside a no-safepoints region")),
			to(sameState, keepCount, keepFlag, AbortBlockingIgnoreAndPoll)),
		Blocking: allow(checks(notCounted, safepointsAllowed),
			to(Running, keepCount, keepFlag, AbortBlockingOk)),
		BlockingSuspendRequested: allow(checks(counted, safepointsAllowed),
			to(BlockingSelfSuspended, keepCount, keepFlag, AbortBlockingWait)),
	},

	// begin_no_safepoints (§3.13).
	BeginNoSafepoints: {
		Running: allow(checks(noSafepointsClear("no-safepoints regions do not nest")),
			to(sameState, keepCount, setFlag, NoResult)),
		AsyncSuspendRequested: allow(checks(noSafepointsClear("no-safepoints regions do not nest")),
			to(sameState, keepCount, setFlag, NoResult)),
	},

	// end_no_safepoints (§3.14). It does not poll: a thread left in
	// AsyncSuspendRequested stops at its next safepoint.
	EndNoSafepoints: {
		Running: allow(checks(noSafepointsSet("unbalanced no-safepoints region: none is open")),
			to(sameState, keepCount, clearFlag, NoResult)),
		AsyncSuspendRequested: allow(checks(noSafepointsSet("unbalanced no-safepoints region: none is open")),
			to(sameState, keepCount, clearFlag, NoResult)),
	},
}

// The notes on cells that behave unexpectedly on purpose.
const (
	quirkAbortToRunning = "QUIRK (mono-protocol.md §3.8, §6.6): the last abort leaves a thread that was GC-safe " +
		"marked RUNNING. Mono aborts only a thread that is gone or was never interrupted; a live thread " +
		"that later leaves its blocking region is refused by DONE_BLOCKING."
	quirkPulseCount = "QUIRK (mono-protocol.md §3.7): the pulse keeps the count at 1; Mono's trace prints a delta " +
		"of -1, but the count is kept since mono/mono #12241."
	diffAbortNoSafepoints = "DIFF from Mono (mono-protocol.md §3.8): Mono refuses the abort when the no-safepoints " +
		"flag is set, because an asynchronous suspend never meets one. A cooperative stop that times out " +
		"must withdraw its request from a thread spinning inside a no-safepoints region, and the thread " +
		"may open the region between the initiator's decision and its abort (the model checker finds " +
		"that race). The flag belongs to the thread, not the request, so it is kept."
	diffAbortBlockingNoWrite = "DIFF from Mono (mono-protocol.md §3.12): Mono clears the no-safepoints flag before its " +
		"fatal error so that unwinding does not fail twice. Here a refused event never writes; a " +
		"deferred END_NO_SAFEPOINTS finds the region still open."
)

// refusalReason is why e is refused in state s.
func refusalReason(e Event, s State) string {
	if r := table[e][s].refusal; r != "" {
		return r
	}
	switch s {
	case Starting:
		if e != Attach {
			return "the thread has not attached"
		}
	case Detached:
		return "the thread has detached: a detached word takes no event"
	}
	return eventRefusals[e]
}
