package coroutine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/monitor"
)

// TestSuspenderAfterTheBodyReturned: a Suspender kept past its body's
// return is dead. Each of its methods panics with a *StatusError that
// names the coroutine, its final status and the method, and nothing
// changes: Sleep in particular does not move a Complete coroutine back to
// Running.
func TestSuspenderAfterTheBodyReturned(t *testing.T) {
	var kept *coroutine.Suspender[int, int]
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		kept = s
		return p
	}, coroutine.WithName("gone"))
	if st, err := c.Resume(7); err != nil || st.Status != coroutine.Complete {
		t.Fatalf("%+v, %v", st, err)
	}
	for _, tc := range []struct {
		method string
		call   func()
	}{
		{"Sleep", func() { kept.Sleep(time.Millisecond) }},
		{"Blocking", func() { kept.Blocking(func() { t.Error("the blocking call ran") }) }},
		{"Yield", func() { kept.Yield(1) }},
		{"Delay", func() { kept.Delay(1, time.Millisecond) }},
		{"Poll", func() { kept.Poll() }},
		{"Cancel", func() { kept.Cancel() }},
	} {
		r := testutil.Catch(tc.call)
		te, ok := r.(*coroutine.StatusError)
		if !ok {
			t.Errorf("%s after the body returned: recovered %T %v, want a *coroutine.StatusError", tc.method, r, r)
			continue
		}
		if msg := te.Error(); !strings.Contains(msg, `"gone"`) || te.From != coroutine.Complete || !strings.Contains(msg, tc.method) {
			t.Errorf("%s after the body returned: %q", tc.method, msg)
		}
		if c.Status() != coroutine.Complete {
			t.Fatalf("%s after the body returned moved the coroutine to %v", tc.method, c.Status())
		}
	}
	if st, err := c.Resume(8); err != nil || st.Status != coroutine.Complete || st.Result != 7 {
		t.Errorf("resume after the misuse: %+v, %v", st, err)
	}
}

// TestSuspenderOfAnotherCoroutine: a Suspender used from another
// coroutine's body is refused the same way (its coroutine is not
// Running), and the coroutine that misused it fails with that error.
func TestSuspenderOfAnotherCoroutine(t *testing.T) {
	var firsts *coroutine.Suspender[int, int]
	first := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		firsts = s
		return s.Yield(p)
	}, coroutine.WithName("first"))
	defer func() {
		if err := first.Close(); err != nil {
			t.Error(err)
		}
	}()
	if st, err := first.Resume(1); err != nil || st.Status != coroutine.Suspended {
		t.Fatalf("%+v, %v", st, err)
	}
	second := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		firsts.Yield(2)
		return 0
	}, coroutine.WithName("second"))
	st, err := second.Resume(0)
	var te *coroutine.StatusError
	if err != nil || st.Status != coroutine.Failed || !errors.As(st.Err, &te) || te.Name != "first" || te.From != coroutine.Suspended {
		t.Fatalf("second, using first's Suspender: %+v, %v", st, err)
	}
	if first.Status() != coroutine.Suspended {
		t.Errorf("first is %v", first.Status())
	}
}

// TestRefusedYieldChangesNothing: Yield refuses by status before it
// stores anything, so a refused Yield neither turns a Delay into a plain
// yield (which Resume's fast path would resume before its WakeAt) nor
// replaces the value the coroutine suspended with; inside a blocking
// call it names the call.
func TestRefusedYieldChangesNothing(t *testing.T) {
	var kept *coroutine.Suspender[int, int]
	var inCall any
	c := coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		kept = s
		s.Blocking(func() { inCall = testutil.Catch(func() { s.Yield(3) }) })
		return s.Delay(5, time.Hour)
	}, coroutine.WithName("late"))
	defer func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}()
	if st, err := c.Resume(0); err != nil || st.Status != coroutine.Suspended || st.Yield != 5 {
		t.Fatalf("%+v, %v", st, err)
	}
	if te, ok := inCall.(*coroutine.StatusError); !ok || te.From != coroutine.Syscall || !strings.Contains(te.Reason, "Yield inside its blocking call") {
		t.Errorf("Yield inside its blocking call: recovered %T %v", inCall, inCall)
	}
	te, ok := testutil.Catch(func() { kept.Yield(9) }).(*coroutine.StatusError)
	if !ok || te.Name != "late" || te.From != coroutine.Suspended || te.To != coroutine.Suspended ||
		!strings.Contains(te.Reason, "Yield outside its running body") {
		t.Fatalf("Yield while Suspended: %v", te)
	}
	st, err := c.Resume(1)
	if err == nil || st.Status != coroutine.Suspended || st.Yield != 5 || st.WakeAt.IsZero() {
		t.Errorf("resumed an hour early after the refused Yield: %+v, %v", st, err)
	}
}

// TestStandaloneBlockingLeavesItsSlice: a coroutine under a monitor but
// without a scheduler runs its blocking calls in place. While it does, it
// is not Running: its slice ends (the monitor counts it no longer) and a
// slice that ran out during the call does not preempt it afterwards.
func TestStandaloneBlockingLeavesItsSlice(t *testing.T) {
	m := monitor.New(monitor.WithSlice(5*time.Millisecond), monitor.WithTick(time.Millisecond))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	var inCall, afterCall int
	c := coroutine.New(func(s *coroutine.Task, _ struct{}) int {
		s.Blocking(func() {
			inCall = m.Running()
			// Several slices' worth: before the fix, the monitor asked
			// for a preemption meanwhile.
			time.Sleep(50 * time.Millisecond)
		})
		afterCall = m.Running()
		s.Poll() // had the monitor asked, this would suspend
		return 1
	}, coroutine.WithMonitor(m), coroutine.WithName("standalone"))
	st, err := c.Resume(struct{}{})
	if err != nil || st.Status != coroutine.Complete {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
		t.Fatalf("a coroutine that slept in Blocking and then polled: %+v, %v", st, err)
	}
	if inCall != 0 || afterCall != 1 {
		t.Errorf("the monitor counted %d running coroutines during the call and %d after it, want 0 and 1", inCall, afterCall)
	}
	if n := m.Running(); n != 0 {
		t.Errorf("%d coroutines in a slice after it completed", n)
	}
}
