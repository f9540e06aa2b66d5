package stwmodel

import ts "github.com/coopsuspend/coopsuspend/threadstate"

// Policy is one of Mono's suspend policies, with Mono's numbering (§4.1).
type Policy uint8

const (
	// Preemptive: no polls, no blocking regions; threads are stopped by
	// the signal handler wherever they are.
	Preemptive Policy = 1
	// Coop: threads stop at polls; a thread in a blocking region counts as
	// stopped and parks if it leaves the region.
	Coop Policy = 2
	// Hybrid: coop, plus a mop-up phase that stops the threads still in
	// blocking regions with the signal handler.
	Hybrid Policy = 3
)

// Policies lists the three policies.
var Policies = []Policy{Preemptive, Coop, Hybrid}

func (p Policy) String() string {
	switch p {
	case Preemptive:
		return "preemptive"
	case Coop:
		return "coop"
	case Hybrid:
		return "hybrid"
	}
	return "policy?"
}

// preemptiveStates is what Mono's preemptive policy reaches: no blocking
// transitions, no polls; threads are stopped by signals only. (Go's own
// preemptive policy is another thing: see suspend.Preemptive.)
var preemptiveStates = ts.States(ts.Starting, ts.Detached, ts.Running, ts.AsyncSuspendRequested, ts.AsyncSuspended)

// States is the set of states a thread can reach under p (invariant I11).
func (p Policy) States() ts.StateSet {
	switch p {
	case Preemptive:
		return preemptiveStates
	case Coop:
		return ts.MonoCoopStates
	}
	return ts.MonoHybridStates
}

// EndStates is where a stop of the world may leave a thread (§4.4, I13).
func (p Policy) EndStates() ts.StateSet {
	switch p {
	case Preemptive:
		return ts.States(ts.AsyncSuspended)
	case Coop:
		return ts.States(ts.SelfSuspended, ts.BlockingSuspendRequested, ts.BlockingSelfSuspended)
	}
	return ts.States(ts.SelfSuspended, ts.BlockingSelfSuspended, ts.BlockingAsyncSuspended)
}

// safepoints reports whether threads poll and use blocking regions.
func (p Policy) safepoints() bool { return p != Preemptive }
