package suspend_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestSlowestArrivalIsNamed: a stop names the thread it waited for
// longest, on the Stopped and in Stats: here a thread that, once asked,
// does not poll until the test lets it, while two others poll at once.
// A stop that waited for nobody (every thread in its blocking region)
// names nobody.
func TestSlowestArrivalIsNamed(t *testing.T) {
	w := newWorld(t)
	ps := startPollers(t, w, 2)
	defer ps.stop()
	var asked, let atomic.Bool
	done := make(chan struct{})
	ready := make(chan *suspend.Thread)
	go func() {
		defer close(done)
		th, err := w.Attach("laggard")
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		ready <- th
		// No poll until the request has come and the test lets go:
		// the stop waits for this thread longest.
		for th.Word().State() == threadstate.Running {
			runtime.Gosched()
		}
		asked.Store(true)
		for !let.Load() {
			runtime.Gosched()
		}
		safepoint.Poll(th)
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	if <-ready == nil {
		t.FailNow()
	}
	stopped := make(chan *suspend.Stopped)
	go func() {
		s, err := w.Stop(context.Background())
		if err != nil {
			t.Error(err)
		}
		stopped <- s
	}()
	waitUntil(t, "the laggard sees the request", asked.Load)
	// Both pollers park long before the laggard is let go.
	waitUntil(t, "the pollers park", func() bool {
		for _, th := range ps.threads {
			if !th.Word().State().IsParked() {
				return false
			}
		}
		return true
	})
	let.Store(true)
	s := <-stopped
	if s == nil {
		t.FailNow()
	}
	if a := s.Slowest(); a.Thread != "laggard" || a.Wait <= 0 {
		t.Errorf("Slowest() = %+v, want the laggard", a)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	<-done
	if st := w.Stats(); len(st.Slowest) != 1 || st.Slowest[0].Thread != "laggard" {
		t.Errorf("Stats().Slowest = %+v, want the laggard's stop", st.Slowest)
	}

	idle := newWorld(t)
	_, release := startBlocked(t, idle, "waiting")
	s = stopWorld(t, idle)
	if a := s.Slowest(); a.Thread != "" {
		t.Errorf("a stop of a thread in its blocking region waited for %+v", a)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	release()
}
