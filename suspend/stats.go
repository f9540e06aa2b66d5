package suspend

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Stats summarises a world's stops.
type Stats struct {
	// Stops counts stops that completed. TimedOut counts stops and
	// single-thread suspends that gave up when their context was done or
	// the stop timeout passed (*StopTimeoutError), including waits for
	// another initiator; Failed those rolled back for any other reason
	// (the signal could not be sent, the handler did not answer).
	Stops, TimedOut, Failed int64
	// Abandoned counts threads removed from the world because their
	// goroutine ended without Detach.
	Abandoned int64
	// TimeToSafepoint is the time from Stop's call to every thread
	// stopped; Pause from Stop's call to the end of Restart. Both
	// summarise the most recent 4096 stops.
	TimeToSafepoint, Pause Distribution
	// Slowest names, for each of the most recent stops (up to 16, oldest
	// first), the thread that stop waited for longest (see
	// Stopped.Slowest).
	Slowest []Arrival
}

// Distribution summarises a set of durations: in Stats, those of the most
// recent samples (up to 4096); in a suspendtest storm's report, those of
// every stop of the storm.
type Distribution struct {
	Samples       int
	P50, P99, Max time.Duration
}

// String gives the percentiles and the number of samples, as in
// "p50 50µs, p99 99µs, max 100µs (100 samples)", or "no samples".
func (d Distribution) String() string {
	if d.Samples == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %v, p99 %v, max %v (%d samples)", d.P50, d.P99, d.Max, d.Samples)
}

// Stats returns the world's stop statistics.
func (w *World) Stats() Stats { return w.stats.snapshot() }

const statsWindow = 4096

type statsRecorder struct {
	mu       sync.Mutex
	stops    int64
	timeouts int64
	failures int64
	abandons int64
	ttsp     ring
	pause    ring
	// slowest is a ring of the last stops' slowest arrivals.
	slowest     [16]Arrival
	slowestNext int
}

type ring struct {
	buf  []time.Duration
	next int
}

func (r *ring) add(d time.Duration) {
	if len(r.buf) < statsWindow {
		r.buf = append(r.buf, d)
		return
	}
	r.buf[r.next] = d
	r.next = (r.next + 1) % statsWindow
}

// samples returns a copy of the ring's samples, in no particular order;
// the caller holds the recorder's mu.
func (r *ring) samples() []time.Duration { return slices.Clone(r.buf) }

// distributionOf summarises samples, which it sorts.
func distributionOf(s []time.Duration) Distribution {
	if len(s) == 0 {
		return Distribution{}
	}
	slices.Sort(s)
	pct := func(p int) time.Duration { return s[(len(s)-1)*p/100] }
	return Distribution{Samples: len(s), P50: pct(50), P99: pct(99), Max: s[len(s)-1]}
}

func (s *statsRecorder) stopped(ttsp time.Duration, slowest Arrival) {
	s.mu.Lock()
	s.stops++
	s.ttsp.add(ttsp)
	s.slowest[s.slowestNext%len(s.slowest)] = slowest
	s.slowestNext++
	s.mu.Unlock()
}

// recentSlowest returns the recorded arrivals, oldest first; the caller
// holds mu.
func (s *statsRecorder) recentSlowest() []Arrival {
	n := min(s.slowestNext, len(s.slowest))
	out := make([]Arrival, 0, n)
	for i := s.slowestNext - n; i < s.slowestNext; i++ {
		out = append(out, s.slowest[i%len(s.slowest)])
	}
	return out
}

func (s *statsRecorder) restarted(pause time.Duration) {
	s.mu.Lock()
	s.pause.add(pause)
	s.mu.Unlock()
}

func (s *statsRecorder) timedOut() {
	s.mu.Lock()
	s.timeouts++
	s.mu.Unlock()
}

func (s *statsRecorder) failed() {
	s.mu.Lock()
	s.failures++
	s.mu.Unlock()
}

func (s *statsRecorder) abandoned() {
	s.mu.Lock()
	s.abandons++
	s.mu.Unlock()
}

// snapshot copies the counters and samples under mu and sorts outside
// it: Stop and Restart take mu to record, and a reader must not hold a
// stop up for the sorting of two windows (about 100 µs).
func (s *statsRecorder) snapshot() Stats {
	s.mu.Lock()
	st := Stats{Stops: s.stops, TimedOut: s.timeouts, Failed: s.failures, Abandoned: s.abandons,
		Slowest: s.recentSlowest()}
	ttsp, pause := s.ttsp.samples(), s.pause.samples()
	s.mu.Unlock()
	st.TimeToSafepoint, st.Pause = distributionOf(ttsp), distributionOf(pause)
	return st
}
