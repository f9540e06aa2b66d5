package suspendtest_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// TestStormCheckThatDoesNotReturn: a Check that panics, or that ends its
// goroutine (runtime.Goexit, as t.FailNow does), ends the storm with an
// error that says so, and the world is restarted first: the next stop
// works and the guests run. (End returned nil, and the world stayed
// stopped, its guests parked, the next Stop waiting for the lock.)
func TestStormCheckThatDoesNotReturn(t *testing.T) {
	for name, check := range map[string]func(*suspend.Stopped) error{
		"Goexit": func(*suspend.Stopped) error { runtime.Goexit(); return nil },
		"panic":  func(*suspend.Stopped) error { panic("check exploded") },
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, suspend.Coop)
			a := startActors(t, w, 2, false)
			defer a.stop()
			st := suspendtest.StartStorm(w, suspendtest.StormConfig{Check: check})
			select {
			case <-st.Done():
			case <-time.After(20 * time.Second):
				t.Fatal("the storm did not end after its Check failed")
			}
			_, err := st.End()
			if err == nil || !strings.Contains(err.Error(), strings.ToLower(name[:1])+name[1:]) && !strings.Contains(err.Error(), name) {
				t.Fatalf("End: %v; want an error naming the %s", err, name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := w.Stop(ctx)
			if err != nil {
				t.Fatalf("a stop after the storm: %v (the storm left the world stopped?)", err)
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStormConfigIsHonouredOrRefused: a MinGap without a MaxGap is kept
// (the gaps are MinGap; it was overwritten by the defaults, 0.1 to
// 0.5 ms); a config the storm cannot honour is an error from End, and the
// storm stops nothing.
func TestStormConfigIsHonouredOrRefused(t *testing.T) {
	w := newWorld(t, suspend.Coop)
	a := startActors(t, w, 1, false)
	defer a.stop()
	var restarts []time.Time
	st := suspendtest.StartStorm(w, suspendtest.StormConfig{
		MinGap:       20 * time.Millisecond,
		AfterRestart: func() { restarts = append(restarts, time.Now()) },
	})
	time.Sleep(200 * time.Millisecond)
	rep, err := st.End()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stops > 10 {
		t.Errorf("%d stops in 200 ms with a MinGap of 20 ms", rep.Stops)
	}
	for i := 1; i < len(restarts); i++ {
		if gap := restarts[i].Sub(restarts[i-1]); gap < 20*time.Millisecond {
			t.Errorf("restarts %v apart, under the MinGap of 20 ms", gap)
		}
	}
	for _, bad := range []suspendtest.StormConfig{
		{MinGap: 10 * time.Millisecond, MaxGap: time.Millisecond},
		{MinGap: -time.Millisecond},
		{MaxHold: -time.Millisecond},
		{StopTimeout: -time.Second},
	} {
		st := suspendtest.StartStorm(w, bad)
		rep, err := st.End()
		if err == nil || rep.Stops != 0 {
			t.Errorf("StartStorm(%+v): %d stops, error %v; want a refusal and no stop", bad, rep.Stops, err)
		}
	}
}

// TestSlowestRefusesThreadsOutsideTheStop: a detached thread, or another
// world's, is not part of the stop; Slowest says so instead of naming it
// the slowest, and stops nothing.
func TestSlowestRefusesThreadsOutsideTheStop(t *testing.T) {
	w, other := newWorld(t, suspend.Coop), newWorld(t, suspend.Coop)
	mine := pollingThread(t, w, "mine")
	foreign := pollingThread(t, other, "foreign")
	gone := make(chan *suspend.Thread)
	go func() {
		th, err := w.Attach("gone")
		if err != nil {
			t.Error(err)
			close(gone)
			return
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
		gone <- th
	}()
	detached := <-gone
	if detached == nil {
		t.FailNow()
	}
	for name, th := range map[string]*suspend.Thread{"a detached": detached, "another world's": foreign} {
		s, _, err := suspendtest.Slowest(context.Background(), w, []*suspend.Thread{mine, th})
		if err == nil {
			if rerr := s.Restart(); rerr != nil {
				t.Error(rerr)
			}
		}
		if err == nil || !strings.Contains(err.Error(), "not part of the stop") {
			t.Errorf("Slowest with %s thread: %v; want an error saying it is not part of the stop", name, err)
		}
	}
	s, err := w.Stop(context.Background())
	if err != nil {
		t.Fatalf("a stop after the refusals: %v", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}

// pollingThread attaches a goroutine to w that polls until the test ends.
func pollingThread(t *testing.T, w *suspend.World, name string) *suspend.Thread {
	t.Helper()
	ready, quit, done := make(chan *suspend.Thread), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach(name)
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		ready <- th
		for {
			select {
			case <-quit:
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
				return
			default:
				safepoint.Poll(th)
			}
		}
	}()
	th := <-ready
	if th == nil {
		t.FailNow()
	}
	t.Cleanup(func() { close(quit); <-done })
	return th
}
