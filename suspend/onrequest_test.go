package suspend_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// channelPoller is a guest that polls only through a channel, as an otto
// guest does through vm.Interrupt: between steps it runs any func it
// receives there, and never calls Poll itself.
type channelPoller struct {
	th        *suspend.Thread
	interrupt chan func()
	quit      chan struct{}
	done      chan struct{}
	steps     atomic.Int64
}

func startChannelPoller(t *testing.T, w *suspend.World, nudge bool) *channelPoller {
	t.Helper()
	cp := &channelPoller{interrupt: make(chan func(), 1), quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(cp.done)
		var opts []suspend.AttachOption
		if nudge {
			opts = append(opts, suspend.OnRequest(func(th *suspend.Thread) {
				select { // never blocks: a nudge already queued will do
				case cp.interrupt <- func() { safepoint.Poll(th) }:
				default:
				}
			}))
		}
		th, err := w.Attach("channel-poller", opts...)
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		cp.th = th
		close(ready)
		for {
			select {
			case f := <-cp.interrupt:
				f()
			case <-cp.quit:
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
				return
			default:
				cp.steps.Add(1)
				testenv.Preemptible()
			}
		}
	}()
	<-ready
	if cp.th == nil {
		t.FailNow()
	}
	return cp
}

func (cp *channelPoller) stop() {
	close(cp.quit)
	<-cp.done
}

// TestOnRequestNudgesAChannelPoller: a guest that polls only through a
// channel is stopped, and suspended, by an initiator that knows nothing
// of the channel, through OnRequest; without it the stop times out. A
// nudge left over from a rolled-back stop polls for nothing.
func TestOnRequestNudgesAChannelPoller(t *testing.T) {
	w := newWorld(t, suspend.WithStopTimeout(200*time.Millisecond))
	cp := startChannelPoller(t, w, true)
	for range 50 {
		s := stopWorld(t, w)
		frozen := cp.steps.Load()
		time.Sleep(100 * time.Microsecond)
		if got := cp.steps.Load(); got != frozen {
			t.Fatalf("the guest took %d steps while stopped", got-frozen)
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SuspendThread(context.Background(), cp.th); err != nil {
		t.Fatal(err)
	}
	if err := w.ResumeThread(cp.th); err != nil {
		t.Fatal(err)
	}
	cp.stop()

	silent := startChannelPoller(t, w, false)
	defer silent.stop()
	var ste *suspend.StopTimeoutError
	if _, err := w.Stop(context.Background()); !errors.As(err, &ste) {
		t.Fatalf("a stop of a guest that polls only through its channel, without OnRequest: %v; want a timeout", err)
	}
	// The rolled-back request's nudge (none here) or a late one polls for
	// nothing: the guest runs on.
	silent.interrupt <- func() { safepoint.Poll(silent.th) }
	waitUntil(t, "the guest runs after a stale nudge", func() bool { return silent.steps.Load() > 1000 })
}

// TestOnRequestOnlyForRunningThreads: the function is called for a
// request that finds the thread running, not for one that finds it in a
// blocking region; a panic in it unwinds the stop and leaves the world
// usable.
func TestOnRequestOnlyForRunningThreads(t *testing.T) {
	w := newWorld(t)
	var calls atomic.Int64
	var explode atomic.Bool
	inRegion, release, done := make(chan *suspend.Thread), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("blocked", suspend.OnRequest(func(*suspend.Thread) {
			calls.Add(1)
			if explode.Load() {
				panic("nudge exploded")
			}
		}))
		if err != nil {
			t.Error(err)
			close(inRegion)
			return
		}
		safepoint.Blocking(th, func() { inRegion <- th; <-release })
		for !explode.Load() || calls.Load() == 0 { // until a nudge has exploded
			safepoint.Poll(th)
			testenv.Preemptible()
		}
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	th := <-inRegion
	if th == nil {
		t.FailNow()
	}
	s := stopWorld(t, w)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("OnRequest called %d times for a thread in a blocking region", n)
	}
	explode.Store(true)
	close(release)
	func() {
		defer func() {
			if p := recover(); p != "nudge exploded" {
				t.Errorf("Stop with a panicking OnRequest: recovered %v", p)
			}
		}()
		waitUntil(t, "the guest runs", func() bool { return th.Word().State().IsLive() })
		for calls.Load() == 0 {
			if s, err := w.Stop(context.Background()); err == nil {
				if err := s.Restart(); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	<-done
	s = stopWorld(t, w) // usable after the panic
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}
