package threadstate_test

import (
	"errors"
	"testing"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// TestCheckWord holds CheckWord against I1–I3 written out here, on every
// word with zero reserved bits and on malformed ones.
func TestCheckWord(t *testing.T) {
	zeroCount := map[ts.State]bool{ts.Starting: true, ts.Detached: true, ts.Running: true, ts.Blocking: true}
	good := 0
	for raw := uint32(0); raw <= 0xffff; raw++ {
		w := ts.Word(raw)
		s, n, ns := w.State(), w.Count(), w.NoSafepoints()
		var want string
		switch {
		case !s.Valid():
			want = "I1"
		case zeroCount[s] != (n == 0):
			want = "I2"
		case ns && s != ts.Running && s != ts.AsyncSuspendRequested:
			want = "I3"
		}
		err := ts.CheckWord(w)
		if got := invariantOf(err); got != want {
			t.Fatalf("CheckWord(%v) = %v, want invariant %q", w, err, want)
		}
		if err == nil {
			good++
		}
	}
	if err := ts.CheckWord(0x10002); invariantOf(err) != "I1" {
		t.Fatalf("reserved bits: %v", err)
	}
	// 4 zero-count states (x2 flags for Running), 6 counted states x 255
	// counts (x2 flags for AsyncSuspendRequested).
	if want := 3 + 2 + 5*255 + 2*255; good != want {
		t.Fatalf("%d well-formed words, want %d", good, want)
	}
}

func invariantOf(err error) string {
	var ie *ts.InvariantError
	if errors.As(err, &ie) {
		return ie.Invariant
	}
	if err != nil {
		return "?" + err.Error()
	}
	return ""
}

// TestCheckerAcceptsAProtocolRun follows a correct stop and restart of a
// thread that leaves its blocking region during the stop.
func TestCheckerAcceptsAProtocolRun(t *testing.T) {
	var c ts.Cell
	chk := ts.Checker{Reachable: ts.MonoCoopStates}
	steps := []struct {
		actor ts.Actor
		e     ts.Event
	}{
		{ts.Self, ts.Attach},
		{ts.Self, ts.DoBlocking},
		{ts.Initiator, ts.RequestSuspension},
		{ts.Self, ts.DoneBlocking}, // parks: BlockingSelfSuspended
		{ts.Initiator, ts.RequestResume},
		{ts.Self, ts.BeginNoSafepoints},
		{ts.Initiator, ts.RequestSuspension},
		{ts.Self, ts.EndNoSafepoints},
		{ts.Self, ts.StatePoll},
		{ts.Initiator, ts.RequestSuspension}, // a second suspender
		{ts.Initiator, ts.RequestResume},
		{ts.Initiator, ts.RequestResume},
		{ts.Self, ts.Detach},
	}
	for _, st := range steps {
		tr, err := c.Transition(st.e)
		if err != nil {
			t.Fatal(err)
		}
		tr.Actor = st.actor
		if err := chk.Check(tr); err != nil {
			t.Fatal(err)
		}
	}
	want := ts.States(ts.Starting, ts.Running, ts.Blocking, ts.BlockingSuspendRequested, ts.BlockingSelfSuspended,
		ts.AsyncSuspendRequested, ts.SelfSuspended, ts.Detached)
	if chk.Visited() != want {
		t.Fatalf("visited %v, want %v", chk.Visited(), want)
	}
}

// TestCheckerCatchesViolations feeds the Checker transitions that Step
// would never produce, or that the wrong actor applies, and requires the
// named invariant to fire: each check can fail.
func TestCheckerCatchesViolations(t *testing.T) {
	w := ts.MakeWord
	running := w(ts.Running, 0, false)
	blocking := w(ts.Blocking, 0, false)
	asr := w(ts.AsyncSuspendRequested, 1, false)
	attach := ts.Transition{Actor: ts.Self, Event: ts.Attach, Before: 0, After: running}
	for _, tc := range []struct {
		name      string
		reachable ts.StateSet
		seq       []ts.Transition
		want      string
	}{
		{"a word with count in Running (I2)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.StatePoll, Before: running, After: w(ts.Running, 1, false)}}, "I2"},
		{"no-safepoints while Blocking (I3)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.DoBlocking, Before: running, After: w(ts.Blocking, 0, true)}}, "I3"},
		{"an undefined state (I1)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.DoBlocking, Before: running, After: ts.Word(11)}}, "I1"},
		{"leaving Starting without ATTACH (I5)", 0, []ts.Transition{
			{Actor: ts.Self, Event: ts.DoBlocking, Before: 0, After: blocking}}, "I5"},
		{"a transition after DETACH (I5)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.Detach, Before: running, After: w(ts.Detached, 0, false), Result: ts.True},
			{Actor: ts.Self, Event: ts.Attach, Before: w(ts.Detached, 0, false), After: running}}, "I5"},
		{"a count that appears from nowhere (I6)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.StatePoll, Before: running, After: asr}}, "I6"},
		{"a resume that fails yet counts down (I6)", 0, []ts.Transition{attach,
			{Actor: ts.Initiator, Event: ts.RequestSuspension, Before: running, After: asr},
			{Actor: ts.Self, Event: ts.StatePoll, Before: asr, After: w(ts.SelfSuspended, 1, false)},
			{Actor: ts.Initiator, Event: ts.RequestResume, Before: w(ts.SelfSuspended, 1, false), After: running,
				Result: ts.ResumeError}}, "I6"},
		{"a poll that leaves the GC-safe region (I7)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.DoBlocking, Before: running, After: blocking},
			{Actor: ts.Self, Event: ts.StatePoll, Before: blocking, After: running}}, "I7"},
		{"the initiator polling for the thread (I9)", 0, []ts.Transition{attach,
			{Actor: ts.Initiator, Event: ts.StatePoll, Before: running, After: running}}, "I9"},
		{"the thread requesting its own suspension (I10)", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.RequestSuspension, Before: running, After: asr}}, "I10"},
		{"a blocking state under Mono's preemptive policy (I11)",
			ts.States(ts.Starting, ts.Detached, ts.Running, ts.AsyncSuspendRequested, ts.AsyncSuspended), []ts.Transition{attach,
				{Actor: ts.Self, Event: ts.DoBlocking, Before: running, After: blocking}}, "I11"},
		{"a transition that does not start where the last ended", 0, []ts.Transition{attach,
			{Actor: ts.Self, Event: ts.DoneBlocking, Before: blocking, After: running}}, "sequence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chk := ts.Checker{Reachable: tc.reachable}
			var err error
			for _, tr := range tc.seq {
				if err = chk.Check(tr); err != nil {
					break
				}
			}
			if got := invariantOf(err); got != tc.want {
				t.Fatalf("got %v, want invariant %s", err, tc.want)
			}
		})
	}
}

// TestCheckerFrom: a checker started on a live thread takes its count as
// outstanding.
func TestCheckerFrom(t *testing.T) {
	var chk ts.Checker
	stopped := ts.MakeWord(ts.SelfSuspended, 2, false)
	chk.From(stopped)
	if err := chk.Check(ts.Transition{Actor: ts.Initiator, Event: ts.RequestResume, Before: stopped,
		After: ts.MakeWord(ts.SelfSuspended, 1, false), Result: ts.ResumeOk}); err != nil {
		t.Fatal(err)
	}
}

// TestTableArmsCoverChecks: in every cell, each word its checks admit is
// matched by an arm, so Step's "no outcome" error is unreachable.
func TestTableArmsCoverChecks(t *testing.T) {
	if e, s, n, ns, ok := ts.ArmsCoverChecks(); !ok {
		t.Fatalf("%v on %v n=%d nosafepoints=%v passes the checks but has no outcome", e, s, n, ns)
	}
}
