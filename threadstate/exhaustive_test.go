package threadstate_test

import (
	"errors"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/monospec"
	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// TestStepMatchesReference holds Step against internal/monospec, an
// independent transcription of the reference's transition functions, on
// every well-formed word (10 states x 256 counts x 2 flags) and every
// event: the same cells are fatal, and the others agree on the new word
// and the result.
func TestStepMatchesReference(t *testing.T) {
	var allowed, refused int
	for s := ts.State(0); s < ts.NumStates; s++ {
		for n := 0; n <= ts.MaxCount; n++ {
			for _, ns := range []bool{false, true} {
				w := ts.MakeWord(s, n, ns)
				for e := ts.Event(0); e < ts.NumEvents; e++ {
					want := monospec.Apply(s, n, ns, e)
					got, r, err := ts.Step(w, e)
					if want.Fatal {
						refused++
						checkRefusal(t, w, e, got, r, err)
						continue
					}
					allowed++
					if err != nil {
						t.Errorf("Step(%v, %v) refused (%v); the reference allows it", w, e, err)
						continue
					}
					if uint32(got) != want.Word() || r != want.Result {
						t.Errorf("Step(%v, %v) = %v, %v; the reference says %v, %v",
							w, e, got, r, ts.Word(want.Word()), want.Result)
					}
				}
			}
		}
	}
	t.Logf("%d (word, event) pairs allowed, %d refused", allowed, refused)
	if total := ts.NumStates * (ts.MaxCount + 1) * 2 * ts.NumEvents; allowed+refused != total {
		t.Fatalf("checked %d pairs, want %d", allowed+refused, total)
	}
}

// checkRefusal checks the shape of a refusal: the word is returned
// unchanged with NoResult and a *TransitionError naming word, event and a
// reason.
func checkRefusal(t *testing.T, w ts.Word, e ts.Event, got ts.Word, r ts.Result, err error) {
	t.Helper()
	var te *ts.TransitionError
	if !errors.As(err, &te) {
		t.Errorf("Step(%v, %v) = %v, %v, %v; the reference says fatal", w, e, got, r, err)
		return
	}
	if got != w || r != ts.NoResult {
		t.Errorf("refused Step(%v, %v) returned %v, %v; want the word unchanged and NoResult", w, e, got, r)
	}
	if te.Word != w || te.Event != e || te.Reason == "" {
		t.Errorf("refused Step(%v, %v): error %+v does not name the word, event and reason", w, e, te)
	}
}

// TestStepRefusesMalformedInput covers words outside the 10 x 256 x 2
// domain (undefined states, reserved bits) and undefined events.
func TestStepRefusesMalformedInput(t *testing.T) {
	for _, w := range []ts.Word{10, 0x7f, 0x10002, 0x80000000, 0xffffffff} {
		for e := ts.Event(0); e < ts.NumEvents; e++ {
			got, r, err := ts.Step(w, e)
			checkRefusal(t, w, e, got, r, err)
		}
	}
	w := ts.MakeWord(ts.Running, 0, false)
	for _, e := range []ts.Event{ts.NumEvents, 200, 255} {
		got, r, err := ts.Step(w, e)
		checkRefusal(t, w, e, got, r, err)
	}
}

// TestCountLimit: the count saturates at MaxCount; one more request is
// refused, and resumes count down from it one at a time.
func TestCountLimit(t *testing.T) {
	var c ts.Cell
	mustApply(t, &c, ts.Attach)
	mustApply(t, &c, ts.RequestSuspension)
	mustApply(t, &c, ts.StatePoll)
	for n := 1; n < ts.MaxCount; n++ {
		if r := mustApply(t, &c, ts.RequestSuspension); r != ts.ReqSuspendAlreadySuspended {
			t.Fatalf("request %d: %v", n+1, r)
		}
	}
	if w := c.Load(); w.Count() != ts.MaxCount {
		t.Fatalf("count %d, want %d", w.Count(), ts.MaxCount)
	}
	if _, err := c.Apply(ts.RequestSuspension); err == nil {
		t.Fatal("a request beyond MaxCount was accepted")
	}
	for n := ts.MaxCount; n > 1; n-- {
		if r := mustApply(t, &c, ts.RequestResume); r != ts.ResumeOk {
			t.Fatalf("resume at count %d: %v", n, r)
		}
	}
	if r := mustApply(t, &c, ts.RequestResume); r != ts.ResumeInitSelfResume {
		t.Fatalf("last resume: %v", r)
	}
	if w := c.Load(); w != ts.MakeWord(ts.Running, 0, false) {
		t.Fatalf("after the last resume: %v", w)
	}
}

func mustApply(t testing.TB, c *ts.Cell, e ts.Event) ts.Result {
	t.Helper()
	r, err := c.Apply(e)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
