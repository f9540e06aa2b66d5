package threadstate_test

import (
	"fmt"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// A thread stops at a poll while an initiator holds it, and resumes when
// the initiator lets go.
func Example() {
	var c ts.Cell
	for _, step := range []struct {
		e   ts.Event
		who string
	}{
		{ts.Attach, "the thread attaches itself"},
		{ts.RequestSuspension, "the initiator asks it to stop"},
		{ts.StatePoll, "the thread reaches a safepoint: it would notify the initiator and park"},
		{ts.RequestResume, "the initiator resumes it: it would post the thread's semaphore"},
	} {
		r, err := c.Apply(step.e)
		if err != nil { // a transition the table refuses
			fmt.Println(err)
			return
		}
		if step.e != ts.Attach {
			fmt.Println(r, c.Load())
		}
	}
	// Output:
	// ReqSuspendInitSuspendRunning ASYNC_SUSPEND_REQUESTED n=1 (0x105)
	// SelfSuspendNotifyAndWait SELF_SUSPENDED n=1 (0x104)
	// ResumeInitSelfResume RUNNING (0x2)
}

// Step is the pure form of the machine: a word and an event in, the next
// word and a result out, or an error where Mono would abort.
func ExampleStep() {
	w := ts.MakeWord(ts.Blocking, 0, false)
	next, r, err := ts.Step(w, ts.RequestSuspension)
	fmt.Println(next, r, err)

	_, _, err = ts.Step(next, ts.DoBlocking)
	fmt.Println(err)
	// Output:
	// BLOCKING_SUSPEND_REQUESTED n=1 (0x109) ReqSuspendInitSuspendBlocking <nil>
	// threadstate: DO_BLOCKING refused in BLOCKING_SUSPEND_REQUESTED n=1 (0x109): blocking regions do not nest
}

// A Checker follows one thread's transitions and reports the first broken
// invariant; here a transition claims a resume that failed still counted
// down.
func ExampleChecker() {
	var c ts.Cell
	chk := ts.Checker{Reachable: ts.MonoCoopStates}
	for _, e := range []ts.Event{ts.Attach, ts.RequestSuspension, ts.StatePoll} {
		tr, _ := c.Transition(e)
		fmt.Println(chk.Check(tr))
	}
	bad := ts.Transition{Actor: ts.Initiator, Event: ts.RequestResume, Result: ts.ResumeError,
		Before: c.Load(), After: ts.MakeWord(ts.Running, 0, false)}
	fmt.Println(chk.Check(bad))
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// threadstate: invariant I6 broken by SELF_SUSPENDED n=1 (0x104) -REQUEST_RESUME-> RUNNING (0x2): ResumeError [initiator]: suspend count is 0, but requests minus resumes and aborts is 1
}
