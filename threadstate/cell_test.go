package threadstate_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"unsafe"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

func TestCellStartsInStarting(t *testing.T) {
	var c ts.Cell
	if w := c.Load(); w != 0 || w.State() != ts.Starting {
		t.Fatalf("zero Cell holds %v, want STARTING (0x0)", w)
	}
}

// TestCellRefusalWritesNothing: a refused event leaves the word as it was,
// and the error names the word, the event and the reason.
func TestCellRefusalWritesNothing(t *testing.T) {
	var c ts.Cell
	mustApply(t, &c, ts.Attach)
	mustApply(t, &c, ts.DoBlocking)
	before := c.Load()
	_, err := c.Apply(ts.DoBlocking)
	var te *ts.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("nested DoBlocking: err = %v, want *TransitionError", err)
	}
	if after := c.Load(); after != before {
		t.Fatalf("refused event changed the word from %v to %v", before, after)
	}
	if te.Word != before || te.Event != ts.DoBlocking || !strings.Contains(te.Reason, "do not nest") {
		t.Fatalf("error %+v", te)
	}
	named := te.WithThread("worker-7")
	for _, want := range []string{`"worker-7"`, "DO_BLOCKING", "BLOCKING (0x6)", "do not nest"} {
		if !strings.Contains(named.Error(), want) {
			t.Errorf("%q does not mention %s", named.Error(), want)
		}
	}
	if te.Thread != "" {
		t.Error("WithThread changed the original error")
	}
	// The cell is still usable.
	if r := mustApply(t, &c, ts.DoneBlocking); r != ts.DoneBlockingOk {
		t.Fatalf("DoneBlocking after the refusal: %v", r)
	}
}

// TestCellTransitionReportsWords: Transition returns the word it applied
// the event to and the word it published.
func TestCellTransitionReportsWords(t *testing.T) {
	var c ts.Cell
	mustApply(t, &c, ts.Attach)
	tr, err := c.Transition(ts.RequestSuspension)
	if err != nil {
		t.Fatal(err)
	}
	want := ts.Transition{Actor: ts.Initiator, Event: ts.RequestSuspension,
		Before: ts.MakeWord(ts.Running, 0, false),
		After:  ts.MakeWord(ts.AsyncSuspendRequested, 1, false),
		Result: ts.ReqSuspendInitSuspendRunning}
	if tr != want {
		t.Fatalf("got %v, want %v", tr, want)
	}
}

// TestCellSize: without the coopcheck tag a Cell is exactly one 32-bit
// word; checked mode costs nothing in normal builds.
func TestCellSize(t *testing.T) {
	size := unsafe.Sizeof(ts.Cell{})
	if !ts.Checked && size != 4 {
		t.Fatalf("Cell is %d bytes in a normal build, want 4", size)
	}
	t.Logf("Cell is %d bytes (checked build: %v)", size, ts.Checked)
}

func TestCellApplyDoesNotAllocate(t *testing.T) {
	var c ts.Cell
	mustApply(t, &c, ts.Attach)
	allocs := testing.AllocsPerRun(1000, func() {
		_, err1 := c.Apply(ts.DoBlocking)
		_, err2 := c.Apply(ts.DoneBlocking)
		if err1 != nil || err2 != nil {
			t.Error(err1, err2)
		}
	})
	if allocs != 0 {
		t.Fatalf("Apply allocates %v times per pair", allocs)
	}
}

// TestCellConcurrentProtocol runs a real thread and a real initiator
// against one Cell: the thread enters and leaves blocking regions and
// polls; the initiator suspends it, waits until it is stopped, and resumes
// it. Their compare-and-swaps race (a request against DoBlocking or
// DoneBlocking), and the test checks that no update is lost: every cycle
// ends with the count back at zero, the thread never runs past a poll
// while stopped, and the run ends in an unrequested state.
func TestCellConcurrentProtocol(t *testing.T) {
	cycles := 20000
	if testing.Short() {
		cycles = 2000
	}
	var (
		c       ts.Cell
		resume  = make(chan struct{}, 1) // the thread's resume semaphore
		stopped = make(chan struct{}, 1) // the initiator's notification
		done    = make(chan struct{})
		mu      sync.Mutex // guards errs
		errs    []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(errs) > 0
	}
	mustApply(t, &c, ts.Attach)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the thread
		defer wg.Done()
		poll := func() {
			r, err := c.Apply(ts.StatePoll)
			if err != nil {
				fail(err)
				return
			}
			if r == ts.SelfSuspendNotifyAndWait {
				stopped <- struct{}{}
				<-resume
			}
		}
		for {
			select {
			case <-done:
				return
			default:
			}
			poll()
			for {
				r, err := c.Apply(ts.DoBlocking)
				if err != nil {
					fail(err)
					return
				}
				if r == ts.DoBlockingContinue {
					break
				}
				poll() // DoBlockingPollAndRetry
			}
			r, err := c.Apply(ts.DoneBlocking)
			if err != nil {
				fail(err)
				return
			}
			if r == ts.DoneBlockingWait {
				<-resume // parked without notifying: already counted as stopped
			}
		}
	}()

	for i := 0; i < cycles && !failed(); i++ {
		r, err := c.Apply(ts.RequestSuspension)
		if err != nil {
			t.Fatal(err)
		}
		if r == ts.ReqSuspendInitSuspendRunning {
			<-stopped // its poll notifies
		}
		// Stopped: SelfSuspended, or still in its blocking region (coop),
		// or parked on the way out of it.
		w := c.Load()
		switch w.State() {
		case ts.SelfSuspended, ts.BlockingSuspendRequested, ts.BlockingSelfSuspended:
		default:
			t.Fatalf("cycle %d: thread is %v after the stop", i, w)
		}
		if w.Count() != 1 {
			t.Fatalf("cycle %d: count %d while stopped", i, w.Count())
		}
		r, err = c.Apply(ts.RequestResume)
		if err != nil {
			t.Fatal(err)
		}
		switch r {
		case ts.ResumeInitSelfResume, ts.ResumeInitBlockingResume:
			resume <- struct{}{}
		case ts.ResumeOk: // it was still in its blocking region
		default:
			t.Fatalf("cycle %d: resume returned %v", i, r)
		}
	}
	close(done)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if w := c.Load(); w.Count() != 0 || (w.State() != ts.Running && w.State() != ts.Blocking) {
		t.Fatalf("ended in %v", w)
	}
}
