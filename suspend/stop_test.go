package suspend_test

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestStopFreezesPollers: after Stop returns, no polling goroutine runs
// past a safepoint until Restart, and after Restart every one of them
// makes progress again. Many cycles, every policy.
func TestStopFreezesPollers(t *testing.T) {
	cycles, n := 1000, 64
	if testing.Short() {
		cycles, n = 100, 16
	}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeak(t)
			w := newWorld(t, suspend.WithPolicy(p))
			ps := startPollers(t, w, n)
			defer ps.stop()
			for c := 0; c < cycles; c++ {
				s := stopWorld(t, w)
				frozen := ps.snapshot()
				for _, info := range s.Threads() {
					if !p.EndStates().Has(info.Word.State()) || info.Word.Count() != 1 || !info.Parked {
						t.Fatalf("cycle %d: %s is %v after Stop", c, info.Name, info.Word)
					}
				}
				if c%100 == 0 {
					// Give the goroutines every chance to run on.
					runtime.Gosched()
					time.Sleep(time.Millisecond)
				}
				if now := ps.snapshot(); !slices.Equal(frozen, now) {
					t.Fatalf("cycle %d: progress while stopped: %v -> %v", c, frozen, now)
				}
				if err := s.Restart(); err != nil {
					t.Fatal(err)
				}
				if c%100 == 0 {
					for i := range ps.progress {
						waitUntil(t, "every poller makes progress after Restart", func() bool {
							return ps.progress[i].Load() > frozen[i]
						})
					}
				}
			}
			for _, th := range ps.threads {
				if wd := th.Word(); wd != threadstate.MakeWord(threadstate.Running, 0, false) {
					t.Errorf("%s is %v after the last restart", th.Name(), wd)
				}
			}
			st := w.Stats()
			if st.Stops != int64(cycles) || st.Pause.Samples == 0 {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%v: %d stops of %d pollers; time to safepoint p50 %v p99 %v max %v; pause p50 %v",
				p, cycles, n, st.TimeToSafepoint.P50, st.TimeToSafepoint.P99, st.TimeToSafepoint.Max, st.Pause.P50)
		})
	}
}

// TestStopEmpty: a world with no threads stops and restarts, and the
// suspend lock is free again afterwards.
func TestStopEmpty(t *testing.T) {
	w := newWorld(t, suspend.WithPolicy(suspend.Coop))
	for i := 0; i < 3; i++ {
		s := stopWorld(t, w)
		if n := len(s.Threads()); n != 0 {
			t.Fatalf("an empty world stopped %d threads", n)
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		if err := s.Restart(); err == nil {
			t.Fatal("a second Restart of an empty stop succeeded")
		}
	}
	if st := w.Stats(); st.Stops != 3 {
		t.Errorf("Stats().Stops = %d, want 3", st.Stops)
	}
}
