package suspendtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// StormConfig configures a Storm. The zero value is usable: stops every
// 100 to 500 µs, each held 0 to 50 µs, each bounded by 10 s. A config the
// storm cannot honour (a negative duration, a MaxGap below MinGap) is an
// error: the storm stops nothing, and End returns the error.
type StormConfig struct {
	// MinGap and MaxGap bound the random time between a restart and the
	// next stop. Both zero: 100 to 500 µs; MaxGap zero: exactly MinGap.
	MinGap, MaxGap time.Duration
	// MaxHold bounds the random time the world stays stopped after the
	// checks, so that guests also meet long stops.
	MaxHold time.Duration
	// StopTimeout bounds each stop; a stop that does not complete in it
	// is a failure of the storm (the error carries the world's dump).
	StopTimeout time.Duration
	// Check, if set, runs while the world is stopped, after CheckStopped.
	// It is where an embedder checks that nothing progressed and that its
	// heap is consistent. Its error ends the storm, and so does a panic,
	// or a runtime.Goexit (t.FailNow called from it): the world is
	// restarted first, and End reports what happened.
	Check func(*suspend.Stopped) error
	// AfterRestart, if set, runs after each restart: a check can record
	// there what it compares at the next stop.
	AfterRestart func()
	// Seed seeds the random intervals; zero picks one from the clock.
	// The report says which seed ran.
	Seed uint64
}

// StormReport is what a storm did.
type StormReport struct {
	Seed uint64
	// Stops counts the stops that completed and were checked.
	Stops int
	// Latency is the time from Stop's call to every thread stopped, over
	// every stop of the storm.
	Latency suspend.Distribution
}

// DistributionOf summarises samples (which it sorts) the way World.Stats
// summarises a world's stops: the p-th percentile is the sample at index
// (n-1)*p/100 in sorted order.
func DistributionOf(samples []time.Duration) suspend.Distribution {
	if len(samples) == 0 {
		return suspend.Distribution{}
	}
	slices.Sort(samples)
	at := func(p int) time.Duration { return samples[(len(samples)-1)*p/100] }
	return suspend.Distribution{Samples: len(samples), P50: at(50), P99: at(99), Max: samples[len(samples)-1]}
}

func (r StormReport) String() string {
	return fmt.Sprintf("%d stops (seed %d), stop latency %v", r.Stops, r.Seed, r.Latency)
}

// Storm is a stop storm in progress: one goroutine that stops and
// restarts a world until End. It is not itself an attached thread.
type Storm struct {
	w      *suspend.World
	cfg    StormConfig
	cancel context.CancelFunc
	done   chan struct{}

	// Written by the storm's goroutine only; read after done is closed.
	report StormReport
	err    error
}

// StartStorm starts a stop storm on w. Call End to stop it and get its
// report and first failure.
//
// Invariants the storm checks after every stop, before cfg.Check:
//   - Stop returned within cfg.StopTimeout with no error;
//   - CheckStopped(w.Policy(), s) holds: each thread is in a stopped state
//     of the policy, with a suspend count of at least one.
//
// The storm ends at its first failure, restarting the world first, so
// that a failing storm never leaves guests parked.
func StartStorm(w *suspend.World, cfg StormConfig) *Storm {
	if err := cfg.check(); err != nil {
		st := &Storm{w: w, cfg: cfg, cancel: func() {}, done: make(chan struct{}), err: err}
		close(st.done)
		return st
	}
	switch {
	case cfg.MinGap == 0 && cfg.MaxGap == 0:
		cfg.MinGap, cfg.MaxGap = 100*time.Microsecond, 500*time.Microsecond
	case cfg.MaxGap == 0:
		cfg.MaxGap = cfg.MinGap
	}
	if cfg.MaxHold == 0 {
		cfg.MaxHold = 50 * time.Microsecond
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &Storm{w: w, cfg: cfg, cancel: cancel, done: make(chan struct{})}
	st.report.Seed = cfg.Seed
	go st.run(ctx)
	return st
}

// check refuses what a storm cannot honour.
func (cfg StormConfig) check() error {
	for name, d := range map[string]time.Duration{"MinGap": cfg.MinGap, "MaxGap": cfg.MaxGap,
		"MaxHold": cfg.MaxHold, "StopTimeout": cfg.StopTimeout} {
		if d < 0 {
			return fmt.Errorf("suspendtest: StormConfig.%s is negative (%v)", name, d)
		}
	}
	if cfg.MaxGap != 0 && cfg.MaxGap < cfg.MinGap {
		return fmt.Errorf("suspendtest: StormConfig.MaxGap (%v) is below MinGap (%v)", cfg.MaxGap, cfg.MinGap)
	}
	return nil
}

// End stops the storm, waits for its goroutine (the world is running
// again when End returns) and returns its report and its first failure,
// if any.
func (st *Storm) End() (StormReport, error) {
	st.cancel()
	<-st.done
	return st.report, st.err
}

// Done is closed when the storm has ended, by End or by a failure.
func (st *Storm) Done() <-chan struct{} { return st.done }

func (st *Storm) run(ctx context.Context) {
	defer close(st.done)
	rng := rand.New(rand.NewPCG(st.cfg.Seed, st.cfg.Seed>>32|1))
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var latencies []time.Duration
	defer func() { st.report.Latency = DistributionOf(latencies) }()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(between(st.cfg.MinGap, st.cfg.MaxGap))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		stopCtx, cancel := context.WithTimeout(context.Background(), st.cfg.StopTimeout)
		start := time.Now()
		s, err := st.w.Stop(stopCtx)
		took := time.Since(start)
		cancel()
		if err != nil {
			st.err = fmt.Errorf("suspendtest: stop %d of the storm failed after %v: %w", st.report.Stops+1, took, err)
			return
		}
		latencies = append(latencies, took)
		err = st.held(s, between(0, st.cfg.MaxHold))
		if err != nil {
			st.err = fmt.Errorf("suspendtest: while stop %d of the storm held the world: %w", st.report.Stops+1, err)
			return
		}
		st.report.Stops++
		if st.cfg.AfterRestart != nil {
			st.cfg.AfterRestart()
		}
	}
}

// held runs the checks of one stop and holds it for hold, then restarts
// the world: also when Check panics (its error says so) or ends the
// storm's goroutine with runtime.Goexit (the storm's error says so, and
// the Goexit goes on, ending the storm).
func (st *Storm) held(s *suspend.Stopped, hold time.Duration) (err error) {
	returned := false
	defer func() {
		p := recover()
		if !returned {
			if p != nil {
				err = fmt.Errorf("suspendtest: the storm's Check panicked: %v", p)
			} else {
				err = errors.New("suspendtest: the storm's Check called runtime.Goexit (t.FailNow or t.SkipNow?); a Check reports a failure by returning an error")
				st.err = fmt.Errorf("suspendtest: while stop %d of the storm held the world: %w", st.report.Stops+1, err)
			}
		}
		if rerr := s.Restart(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	err = CheckStopped(st.w.Policy(), s)
	if err == nil && st.cfg.Check != nil {
		err = st.cfg.Check(s)
	}
	if err == nil && hold > 0 {
		time.Sleep(hold)
	}
	returned = true
	return err
}

// TB is the part of testing.TB the kit's test helpers use.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// RunStorm starts a storm on w for the rest of the test: it ends in the
// test's cleanup, which logs the report and fails the test with the
// storm's failure. Tests that want the report call End themselves
// (a second End returns the same report and error).
func RunStorm(t TB, w *suspend.World, cfg StormConfig) *Storm {
	t.Helper()
	st := StartStorm(w, cfg)
	t.Cleanup(func() {
		rep, err := st.End()
		t.Logf("storm: %v", rep)
		if err != nil {
			t.Errorf("%v", err)
		}
	})
	return st
}
