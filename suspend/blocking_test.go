package suspend_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestBlockedThreadDoesNotDelayStop: a thread blocked inside a blocking
// region (here on a channel that nobody sends on until the end) does not
// hold a stop up; the stop reports it as still in its region. Under the
// hybrid policy, too: without a wrapped system call to interrupt, the
// mop-up phase leaves it in its region.
func TestBlockedThreadDoesNotDelayStop(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeak(t)
			w := newWorld(t, suspend.WithPolicy(p))
			release := make(chan struct{})
			entered := make(chan *suspend.Thread)
			done := make(chan struct{})
			go func() {
				defer close(done)
				th, err := w.Attach("blocked")
				if err != nil {
					t.Error(err)
					close(entered)
					return
				}
				safepoint.Blocking(th, func() {
					entered <- th
					<-release
				})
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
			}()
			th := <-entered
			if th == nil {
				t.FailNow()
			}
			s := stopWorld(t, w)
			infos := s.Threads()
			if len(infos) != 1 || !infos[0].InSafeRegion || infos[0].Parked ||
				infos[0].Word != threadstate.MakeWord(threadstate.BlockingSuspendRequested, 1, false) {
				t.Fatalf("stopped thread: %+v", infos)
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if wd := th.Word(); wd != threadstate.MakeWord(threadstate.Blocking, 0, false) {
				t.Fatalf("after restart: %v", wd)
			}
			close(release)
			<-done
		})
	}
}

// TestExitSafeParksDuringStop: a thread whose blocking call returns while
// the world is stopped parks in ExitSafe, and runs the code after it only
// after the restart.
func TestExitSafeParksDuringStop(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeak(t)
			w := newWorld(t, suspend.WithPolicy(p))
			release := make(chan struct{})
			entered := make(chan *suspend.Thread)
			var after atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				th, err := w.Attach("returns-during-stop")
				if err != nil {
					t.Error(err)
					close(entered)
					return
				}
				safepoint.Blocking(th, func() {
					entered <- th
					<-release
				})
				after.Store(true) // code after the region: must not run while stopped
				if err := th.Detach(); err != nil {
					t.Error(err)
				}
			}()
			th := <-entered
			if th == nil {
				t.FailNow()
			}
			s := stopWorld(t, w)
			close(release) // the blocking call returns now
			waitUntil(t, "the thread parks in ExitSafe", func() bool {
				return th.Word().State() == threadstate.BlockingSelfSuspended
			})
			time.Sleep(5 * time.Millisecond)
			if after.Load() {
				t.Fatal("the thread ran past ExitSafe while the world was stopped")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			<-done
			if !after.Load() {
				t.Fatal("the thread did not go on after the restart")
			}
			if st := th.Stats(); st.Parks != 1 {
				t.Errorf("stats %+v, want one park", st)
			}
		})
	}
}

// TestRegionsRaceStops runs threads that switch between polls, blocking
// regions, unsafe regions inside blocking regions and no-safepoints regions
// as fast as they can, while an initiator stops and restarts the world.
// Each thread counts its progress only where it is GC-unsafe outside a
// no-safepoints region; while the world is stopped those counts may not
// move. Any protocol violation panics in a thread.
func TestRegionsRaceStops(t *testing.T) {
	cycles, n := 2000, 8
	if testing.Short() {
		cycles = 200
	}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeak(t)
			w := newWorld(t, suspend.WithPolicy(p))
			progress := make([]atomic.Int64, n)
			var quit atomic.Bool
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					th, err := w.Attach("mixer-" + strconv.Itoa(i))
					if err != nil {
						t.Error(err)
						return
					}
					defer func() {
						if err := th.Detach(); err != nil {
							t.Error(err)
						}
					}()
					for k := 0; !quit.Load(); k++ {
						switch k % 5 {
						case 0:
							safepoint.Poll(th)
							progress[i].Add(1)
						case 1:
							safepoint.EnterSafe(th)
							safepoint.ExitSafe(th)
							progress[i].Add(1)
						case 2:
							safepoint.EnterSafe(th)
							c := safepoint.EnterUnsafe(th)
							progress[i].Add(1) // GC-unsafe inside the region
							safepoint.ExitUnsafe(th, c)
							safepoint.ExitSafe(th)
						case 3:
							c := safepoint.EnterUnsafe(th) // from GC-unsafe: a no-op or a poll
							progress[i].Add(1)
							safepoint.ExitUnsafe(th, c)
						case 4:
							safepoint.BeginNoSafepoints(th)
							safepoint.EndNoSafepoints(th)
							safepoint.Poll(th)
							progress[i].Add(1)
						}
					}
				}()
			}
			snap := func() []int64 {
				out := make([]int64, n)
				for i := range progress {
					out[i] = progress[i].Load()
				}
				return out
			}
			for c := 0; c < cycles; c++ {
				s := stopWorld(t, w)
				before := snap()
				for _, info := range s.Threads() {
					if !p.EndStates().Has(info.Word.State()) {
						t.Fatalf("%s is %v after Stop", info.Name, info.Word)
					}
				}
				if c%200 == 0 {
					time.Sleep(time.Millisecond)
				}
				after := snap()
				for i := range before {
					if before[i] != after[i] {
						t.Fatalf("cycle %d: mixer-%d progressed in GC-unsafe code while stopped", c, i)
					}
				}
				if err := s.Restart(); err != nil {
					t.Fatal(err)
				}
			}
			quit.Store(true)
			wg.Wait()
		})
	}
}
