package suspend_test

import (
	"slices"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// TestFairUnderFrequentStops: four polling guests on this machine's CPUs,
// a Stop and Restart every 5 ms. Every guest keeps making progress: the
// slowest makes at least half the progress of the fastest. (With a fixed
// wake order the last guest woken was starved: 1.0 against 81.8 million
// steps.) The ratio is a comparison within one run, not a timing; the run
// is a whole number of wake-order rotations, so that it measures the
// order and not where the run happened to end.
func TestFairUnderFrequentStops(t *testing.T) {
	const guests = 4
	cycles := 50 * guests
	if testing.Short() {
		cycles = 25 * guests
	}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("policy %v does not run here: %v", p, err)
			}
			ps := startPollers(t, w, guests)
			defer ps.stop()
			stopWorld(t, w).Restart() // every guest has run to a poll
			start := ps.snapshot()
			for range cycles {
				time.Sleep(5 * time.Millisecond)
				if err := stopWorld(t, w).Restart(); err != nil {
					t.Fatal(err)
				}
			}
			end := ps.snapshot()
			progress := make([]int64, len(end))
			for i := range end {
				progress[i] = end[i] - start[i]
			}
			lo, hi := slices.Min(progress), slices.Max(progress)
			t.Logf("%v: %d stops; progress per guest %v (min/max %.2f)", p, cycles, progress, float64(lo)/float64(hi))
			if 2*lo < hi {
				t.Errorf("the slowest guest made %d steps, under half of the fastest's %d: %v", lo, hi, progress)
			}
		})
	}
}
