package threadstate_test

import (
	"encoding"
	"fmt"
	"testing"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

func TestWordLayout(t *testing.T) {
	for s := ts.State(0); s < ts.NumStates; s++ {
		for n := 0; n <= ts.MaxCount; n++ {
			for _, ns := range []bool{false, true} {
				w := ts.MakeWord(s, n, ns)
				raw := uint32(s) | uint32(n)<<8
				if ns {
					raw |= 0x80
				}
				if uint32(w) != raw {
					t.Fatalf("MakeWord(%v, %d, %v) = %#x, want %#x", s, n, ns, uint32(w), raw)
				}
				if w.State() != s || w.Count() != n || w.NoSafepoints() != ns || !w.WellFormed() {
					t.Fatalf("%#x decodes to %v, %d, %v", raw, w.State(), w.Count(), w.NoSafepoints())
				}
			}
		}
	}
}

func TestMakeWordRejectsUnrepresentable(t *testing.T) {
	for _, tc := range []struct {
		s ts.State
		n int
	}{{ts.NumStates, 0}, {127, 0}, {ts.Running, -1}, {ts.SelfSuspended, ts.MaxCount + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MakeWord(%d, %d) did not panic", tc.s, tc.n)
				}
			}()
			ts.MakeWord(tc.s, tc.n, false)
		}()
	}
}

func TestWordString(t *testing.T) {
	for _, tc := range []struct {
		w    ts.Word
		want string
	}{
		{0, "STARTING (0x0)"},
		{ts.MakeWord(ts.Running, 0, false), "RUNNING (0x2)"},
		{ts.MakeWord(ts.AsyncSuspendRequested, 1, true), "ASYNC_SUSPEND_REQUESTED n=1 nosafepoints (0x185)"},
		{ts.MakeWord(ts.BlockingSelfSuspended, 2, false), "BLOCKING_SELF_SUSPENDED n=2 (0x208)"},
		{ts.MakeWord(ts.SelfSuspended, 255, false), "SELF_SUSPENDED n=255 (0xff04)"},
		{ts.Word(0x0c), "STATE(12) (0xc)"},
		{ts.Word(0x10002), "RUNNING malformed (0x10002)"},
	} {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("%#x: got %q, want %q", uint32(tc.w), got, tc.want)
		}
		// AppendText appends the same text, keeping what b held.
		if got, err := tc.w.AppendText([]byte("word: ")); err != nil || string(got) != "word: "+tc.want {
			t.Errorf("%#x: AppendText gave %q, %v; want %q", uint32(tc.w), got, err, "word: "+tc.want)
		}
	}
	var _ encoding.TextAppender = ts.Word(0)
}

func TestNames(t *testing.T) {
	seen := map[string]bool{}
	for s := ts.State(0); s < ts.NumStates; s++ {
		seen[s.String()] = true
	}
	for e := ts.Event(0); e < ts.NumEvents; e++ {
		seen[e.String()] = true
	}
	for r := ts.Result(0); r < ts.NumResults; r++ {
		seen[r.String()] = true
	}
	if want := ts.NumStates + ts.NumEvents + ts.NumResults; len(seen) != want {
		t.Fatalf("%d distinct names, want %d", len(seen), want)
	}
	for _, s := range []fmt.Stringer{ts.State(10), ts.Event(14), ts.Result(23), ts.Actor(9)} {
		if s.String() == "" {
			t.Errorf("%T has no name for an undefined value", s)
		}
	}
	// Mono's numbering of states and of its result enums (§1, §3.0).
	if ts.BlockingSuspendRequested != 9 || ts.Running != 2 || ts.SelfSuspended != 4 {
		t.Error("state values differ from Mono's")
	}
	if ts.ReqSuspendInitSuspendBlocking-ts.ReqSuspendAlreadySuspended != 3 ||
		ts.AbortBlockingWait-ts.AbortBlockingIgnore != 3 || ts.ResumeInitBlockingResume-ts.ResumeError != 4 {
		t.Error("result enums are out of Mono's order")
	}
}

// TestPredicates holds the derived predicates against the reference's
// lists (§1), written out here.
func TestPredicates(t *testing.T) {
	type row struct {
		executing, parked, live, gcUnsafe, gcSafe bool
	}
	want := map[ts.State]row{
		ts.Starting:                 {},
		ts.Detached:                 {},
		ts.Running:                  {executing: true, live: true, gcUnsafe: true},
		ts.AsyncSuspended:           {parked: true, live: true},
		ts.SelfSuspended:            {parked: true, live: true},
		ts.AsyncSuspendRequested:    {executing: true, live: true, gcUnsafe: true},
		ts.Blocking:                 {executing: true, live: true, gcSafe: true},
		ts.BlockingAsyncSuspended:   {parked: true, live: true, gcSafe: true},
		ts.BlockingSelfSuspended:    {parked: true, live: true},
		ts.BlockingSuspendRequested: {executing: true, live: true, gcSafe: true},
	}
	for s, w := range want {
		got := row{s.IsExecuting(), s.IsParked(), s.IsLive(), s.IsGCUnsafe(), s.IsGCSafe()}
		if got != w {
			t.Errorf("%v: got %+v, want %+v", s, got, w)
		}
	}
	if ts.State(12).IsLive() || ts.State(12).IsExecuting() {
		t.Error("an undefined state is live or executing")
	}
}

func TestStateSet(t *testing.T) {
	set := ts.States(ts.Running, ts.Blocking, ts.State(40))
	if !set.Has(ts.Running) || !set.Has(ts.Blocking) || set.Has(ts.Starting) || set.Has(ts.State(40)) {
		t.Fatalf("set %v", set)
	}
	if got := set.String(); got != "{RUNNING, BLOCKING}" {
		t.Fatalf("String() = %q", got)
	}
	if ts.MonoHybridStates != ts.MonoCoopStates.With(ts.BlockingAsyncSuspended) ||
		ts.MonoHybridStates.Has(ts.AsyncSuspended) {
		t.Error("policy state sets differ from I11")
	}
}
