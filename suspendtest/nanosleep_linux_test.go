package suspendtest_test

// This test sleeps in a wrapped system call, which safepoint has on
// Linux only.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestCheckStoppedRejectsAnotherPolicysStates: a thread asynchronously
// suspended in a system call is stopped for hybrid, and not a state a
// coop stop may leave.
func TestCheckStoppedRejectsAnotherPolicysStates(t *testing.T) {
	w := newWorld(t, suspend.Hybrid)
	ready := make(chan *suspend.Thread)
	done := make(chan error)
	go func() {
		th, err := w.Attach("sleeper")
		if err != nil {
			close(ready)
			done <- err
			return
		}
		ready <- th
		err = safepoint.Nanosleep(th, 300*time.Millisecond)
		done <- errors.Join(err, th.Detach())
	}()
	th := <-ready
	if th == nil {
		t.Fatal(<-done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := suspendtest.WaitInRegion(ctx, th); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // into the kernel
	s, err := w.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := s.Threads()[0].Word.State()
	if err := suspendtest.CheckStopped(suspend.Hybrid, s); err != nil {
		t.Error(err)
	}
	cerr := suspendtest.CheckStopped(suspend.Coop, s)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st != threadstate.BlockingAsyncSuspended {
		t.Skipf("the sleeper was %v at the stop, not in the kernel; nothing to reject", st)
	}
	if cerr == nil || !strings.Contains(cerr.Error(), `"sleeper"`) {
		t.Fatalf("CheckStopped(coop) of a BLOCKING_ASYNC_SUSPENDED thread: %v", cerr)
	}
}
