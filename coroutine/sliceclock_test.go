package coroutine

import (
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/monitor"
)

// TestSliceClockTunesItsReads: Poll's count of polls between clock reads
// grows for a loop that polls often (so reads stay rare) and shrinks for
// one that polls seldom (so a slice still ends on time), within its
// bounds.
func TestSliceClockTunesItsReads(t *testing.T) {
	m := monitor.New(monitor.WithSlice(4*time.Millisecond), monitor.WithTick(time.Hour))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	var fast, slow int32
	slices := 0 // the resumer's count of preemptions; the switches order it
	c := New(func(s *Task, _ struct{}) int {
		for slices < 3 { // three slices of tight polling
			s.Poll()
			fast = max(fast, s.sh.pollsPerRead) // the best read: a loaded machine may delay some
		}
		for range 200 { // then polls 100 µs or more apart, over 5 slices
			time.Sleep(100 * time.Microsecond)
			s.Poll()
		}
		slow = s.sh.pollsPerRead
		return 0
	}, WithMonitor(m))
	for {
		st, err := c.Resume(struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.Finished() {
			break
		}
		slices++
	}
	// A tight loop polls in nanoseconds: reads an eighth of a slice
	// (500 µs) apart are thousands of polls apart.
	if fast < 1024 || fast > maxPollsPerRead {
		t.Errorf("after tight polling: %d polls per read; want 1024 to %d", fast, maxPollsPerRead)
	}
	// Polls 100 µs or more apart: an eighth of a slice is 5 of them or
	// fewer.
	if slow < 1 || slow > 5 {
		t.Errorf("after polls 100 µs apart: %d polls per read; want 1 to 5", slow)
	}
}
