package suspend_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestCollectionOnAGuestThread is the most common embedding: the runtime's
// collector runs on whichever guest thread needs memory, so that thread
// stops the world By(self), works while the others are stopped, and
// restarts it. Here every one of four guests does so, concurrently, for
// every policy: each stop leaves its initiator running and every other
// guest stopped (none progresses during the "collection"), and a guest
// that wants to collect while another does waits inside a blocking region
// and is counted as stopped.
func TestCollectionOnAGuestThread(t *testing.T) {
	collections := 200
	if testing.Short() {
		collections = 40
	}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p), suspend.WithStopTimeout(20*time.Second))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("policy %v does not run here: %v", p, err)
			}
			checkNoLeak(t)
			const guests = 4
			var progress [guests]atomic.Int64
			var attached, done, finished atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < guests; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					th, err := w.Attach(fmt.Sprintf("guest-%d", g))
					if err != nil {
						t.Error(err)
						return
					}
					defer func() {
						if err := th.Detach(); err != nil {
							t.Error(err)
						}
					}()
					attached.Add(1)
					for attached.Load() < guests { // every stop holds the other three
						safepoint.Poll(th)
						runtime.Gosched()
					}
					for step := 1; done.Load() < int64(collections); step++ {
						safepoint.Poll(th)
						progress[g].Add(1)
						if step%5000 != 0 {
							continue
						}
						collect(t, w, th, g, &progress)
						done.Add(1)
					}
					// Stay attached, and polling, until no guest can
					// stop the world any more: every stop holds the
					// other three.
					finished.Add(1)
					for finished.Load() < guests {
						safepoint.Poll(th)
						runtime.Gosched()
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			if st := w.Stats(); st.Stops < int64(collections) || st.TimedOut != 0 {
				t.Errorf("stats %+v after %d collections", st, collections)
			}
		})
	}
}

// collect is guest g's collection: stop the world By(self), check that
// the others are stopped and do not move, restart.
func collect(t *testing.T, w *suspend.World, self *suspend.Thread, g int, progress *[4]atomic.Int64) {
	s, err := w.Stop(context.Background(), suspend.By(self))
	if err != nil {
		t.Errorf("guest-%d: Stop(By(self)): %v", g, err)
		return
	}
	if st := self.Word().State(); st != threadstate.Running {
		t.Errorf("guest-%d: the initiator is %v during its own stop", g, self.Word())
	}
	infos := s.Threads()
	if len(infos) != len(progress)-1 {
		t.Errorf("guest-%d: the stop holds %d threads, want the %d others", g, len(infos), len(progress)-1)
	}
	for _, info := range infos {
		if info.Name == self.Name() || !(info.Parked || info.InSafeRegion) {
			t.Errorf("guest-%d's stop: %+v", g, info)
		}
	}
	var before [4]int64
	for i := range progress {
		before[i] = progress[i].Load()
	}
	time.Sleep(20 * time.Microsecond) // the "collection"
	for i := range progress {
		if i != g && progress[i].Load() != before[i] {
			t.Errorf("guest-%d moved during guest-%d's stop", i, g)
		}
	}
	if err := s.Restart(); err != nil {
		t.Errorf("guest-%d: Restart: %v", g, err)
	}
}
