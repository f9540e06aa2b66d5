package threadstate

import "strings"

// cueCardLines explain each state as it appears in a dump taken while the
// world is being stopped: GOOD means the thread counts as stopped, BAD
// means the stop is still waiting for it. In the raw values "?" stands for
// the suspend count, the second hex byte; 0x80 is added inside a
// no-safepoints region (0x185 is ASYNC_SUSPEND_REQUESTED, n=1, in a
// no-safepoints region).
var cueCardLines = [NumStates]string{
	Starting:                 "0x0    STARTING                    not attached yet: not part of a stop",
	Detached:                 "0x1    DETACHED                    gone: not part of a stop",
	Running:                  "0x2    RUNNING                     BAD: not asked to stop yet (fine for the initiator itself)",
	AsyncSuspended:           "0x?03  ASYNC_SUSPENDED             GOOD: stopped by the signal handler",
	SelfSuspended:            "0x?04  SELF_SUSPENDED              GOOD: parked at a safepoint",
	AsyncSuspendRequested:    "0x?05  ASYNC_SUSPEND_REQUESTED     BAD: asked to stop, has not reached a safepoint",
	Blocking:                 "0x6    BLOCKING                    BAD: in a blocking region, not asked to stop yet",
	BlockingAsyncSuspended:   "0x?07  BLOCKING_ASYNC_SUSPENDED    GOOD: stopped by the signal handler in a blocking call",
	BlockingSelfSuspended:    "0x?08  BLOCKING_SELF_SUSPENDED     GOOD: parked on its way out of a blocking region",
	BlockingSuspendRequested: "0x?09  BLOCKING_SUSPEND_REQUESTED  GOOD in coop (stopped while it stays in its region); BAD in hybrid until mop-up",
}

// CueCard returns the legend that dumps print before their thread list: one
// line per state with its raw value and whether a thread in it lets a stop
// of the world complete (Mono's dump_threads cue card).
func CueCard() string {
	var b strings.Builder
	b.WriteString("state word cue card (? = suspend count, +0x80 = in a no-safepoints region):\n")
	for _, l := range cueCardLines {
		b.WriteString("  ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
