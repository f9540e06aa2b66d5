// Package monitor enforces coroutine time slices, open-coroutine's
// monitor in Go terms.
//
// A coroutine entering Running starts its slice (Enter); leaving Running
// ends it (Leave). When a slice runs out, the monitor asks the coroutine
// to suspend at its next safepoint (Target.RequestPreemption), and asks
// again every tick until the coroutine leaves Running. A coroutine in a
// blocking call is not Running, so it is never asked.
//
// Go code cannot be suspended anywhere but at a safepoint
// (docs/go-rules.md rules 1 and 8). A loop without one cannot be
// preempted by any library; the monitor finds it instead: once a
// coroutine overruns its slice by more than the overrun margin, the
// monitor samples its thread through coopsuspend's signal handler (a
// sample request: the thread is not parked) and reports who, for how
// long, and where, so that the runtime's author can add the poll. The
// thread is the one that called Enter, and it can be sampled only if it
// is registered with the handler, which needs it locked to its OS
// thread: a thread attached to a hybrid or preemptive suspend.World, or
// a coroutine.Scheduler's (which registers its thread when it has a
// monitor).
//
// A sample is a register context of the thread, and the thread is not
// always running the coroutine's code when the signal lands: with the
// monitor and the coroutine competing for one P, the coroutine's thread
// sleeps in Go's scheduler while the monitor runs; a call to time.Now runs
// in the vDSO; under the race detector every memory access runs
// ThreadSanitizer. The monitor therefore classifies each sample
// (arch.Frame.Place) and reports only one that is in the program's own
// code. A sample that is not is set aside and the thread sampled again at
// the next ticks, each time through a kernel timer that signals the thread
// a little after the monitor has given its P away. After samplesPerReport
// misses the report says that the position is unknown and where the samples
// found the thread instead. A frame of the runtime is never reported as the
// coroutine's position.
//
// The monitor runs no goroutine of its own: a timer fires once per tick
// while at least one coroutine runs, and once more after the last one
// leaves; then nothing is scheduled until one enters again. A timer's function runs only on a P, so while every P runs a
// coroutine that neither yields nor blocks, ticks come only when Go's own
// preemption takes one off its P (about every 10 ms). A coroutine that
// polls therefore also checks its own slice (SliceOver): package
// coroutine reads the clock every so many polls, tuned to a few reads a
// slice, and suspends when the slice is over, without waiting for a tick.
package monitor

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
)

// Target is a coroutine the monitor can preempt.
type Target interface {
	Name() string
	RequestPreemption()
}

// Overrun reports a coroutine that ran past its slice and the overrun
// margin without reaching a safepoint.
type Overrun struct {
	Name    string        // the coroutine
	Running time.Duration // how long it had been running at the last sample
	// Where is where a sample found the coroutine in the program's own
	// code (arch.InProgram); the zero Frame if no sample did.
	Where arch.Frame
	// Missed holds the samples, in order, that found the thread outside
	// the program (in the Go runtime, the race runtime, the vDSO) before
	// Where was found or the monitor gave up. They are not the
	// coroutine's position, only where its thread was at that moment.
	Missed []arch.Frame
	Tid    int // the OS thread it runs on
	// Err says why the overrun could not be sampled at all: the
	// sampling signal's handler was replaced (arch.ErrHandlerReplaced:
	// signal.Ignore, signal.Reset or another library). Until it is
	// installed again no overrun can be sampled, and each slice that
	// overruns is reported once with Err set.
	Err error
}

// Known reports whether the report names the coroutine's position.
func (o Overrun) Known() bool { return o.Where.Function != "" }

func (o Overrun) String() string {
	s := fmt.Sprintf("coroutine %q has run %v without a safepoint, ", o.Name, o.Running.Round(time.Microsecond))
	if o.Err != nil {
		return s + fmt.Sprintf("position unknown: it could not be sampled: %v", o.Err)
	}
	if o.Known() {
		return s + fmt.Sprintf("at %v", o.Where)
	}
	var counts [arch.InUnknown + 1]int
	for _, f := range o.Missed {
		counts[f.Place()]++
	}
	var where []string
	for p, n := range counts {
		if n > 0 {
			where = append(where, fmt.Sprintf("%d in %v", n, arch.Place(p)))
		}
	}
	return s + fmt.Sprintf("position unknown: every sample found its thread outside the program (%s)", strings.Join(where, ", "))
}

// Option configures a Monitor.
type Option func(*config)

type config struct {
	slice, tick time.Duration
	sig         syscall.Signal
	margin      time.Duration
	onOverrun   func(Overrun)
}

// WithSlice sets the time slice (default 10 ms).
func WithSlice(d time.Duration) Option { return func(c *config) { c.slice = d } }

// WithTick sets how often the monitor looks at running coroutines while
// any runs (default 1 ms).
func WithTick(d time.Duration) Option { return func(c *config) { c.tick = d } }

// WithSignal sets the signal used to sample overrunning threads (default
// SIGURG; see arch.ValidSignal).
func WithSignal(sig syscall.Signal) Option { return func(c *config) { c.sig = sig } }

// WithOverrun asks the monitor to sample a coroutine that runs more than
// margin past its slice without honouring the preemption, and to call fn
// with what it found, once per slice. fn runs on the monitor's timer and
// must not block for long.
func WithOverrun(margin time.Duration, fn func(Overrun)) Option {
	return func(c *config) { c.margin, c.onOverrun = margin, fn }
}

// Monitor enforces time slices. Create it with New; it does nothing until
// Start.
type Monitor struct {
	cfg config

	active atomic.Bool // state == started, for SliceOver without mu

	mu      sync.Mutex
	state   int // created, started, stopped
	running map[Target]*slot
	timer   *time.Timer
	ticks   sync.WaitGroup // ticks in flight, for Stop
	sampled bool           // the handler is installed for sampling
}

type slot struct {
	start, deadline time.Time
	rec             *asyncsuspend.Record
	// reported: a sample is in flight or the slice's report is made;
	// missed: the samples of this slice that found the thread outside
	// the program. Both under the monitor's mu.
	reported bool
	missed   []arch.Frame
}

// samplesPerReport bounds the samples taken for one slice's report: after
// that many have found the thread outside the program, the report says
// the position is unknown.
const samplesPerReport = 8

const (
	created = iota
	started
	stopped
)

// New returns a monitor with the given options.
func New(opts ...Option) *Monitor {
	m := &Monitor{cfg: config{slice: 10 * time.Millisecond, tick: time.Millisecond, sig: arch.DefaultSignal},
		running: map[Target]*slot{}}
	for _, o := range opts {
		o(&m.cfg)
	}
	return m
}

// Start starts the monitor; with WithOverrun it installs the signal
// handler used for sampling. Starting a started monitor does nothing; a
// stopped one cannot be restarted.
func (m *Monitor) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case started:
		return nil
	case stopped:
		return errors.New("monitor: a stopped monitor cannot be restarted")
	}
	if m.cfg.slice <= 0 || m.cfg.tick <= 0 {
		return fmt.Errorf("monitor: slice %v and tick %v must be positive", m.cfg.slice, m.cfg.tick)
	}
	if m.cfg.onOverrun != nil {
		if err := asyncsuspend.Install(m.cfg.sig); err != nil {
			return fmt.Errorf("monitor: overrun sampling: %w", err)
		}
		m.sampled = true
	}
	m.state = started
	m.active.Store(true)
	return nil
}

// CheckSignals reports whether the monitor can sample overruns: nil
// without WithOverrun, or while its handler is installed; an error
// wrapping arch.ErrHandlerReplaced once signal.Ignore, signal.Reset or
// another library has replaced it (each sample checks the same, and
// reports what it could not sample with Overrun.Err).
func (m *Monitor) CheckSignals() error {
	m.mu.Lock()
	sampled := m.sampled
	m.mu.Unlock()
	if !sampled {
		return nil
	}
	if err := asyncsuspend.Installed(m.cfg.sig); err != nil {
		return fmt.Errorf("monitor: overrun sampling: %w", err)
	}
	return nil
}

// Stop stops the monitor: no more preemption requests or samples, and no
// tick left running when it returns. Stopping twice does nothing.
func (m *Monitor) Stop() {
	m.mu.Lock()
	if m.state != started {
		m.state = stopped
		m.mu.Unlock()
		return
	}
	m.state = stopped
	m.active.Store(false)
	if m.timer != nil && m.timer.Stop() {
		m.ticks.Done() // the tick that will not run
	}
	m.timer = nil
	clear(m.running)
	sampled := m.sampled
	m.mu.Unlock()
	m.ticks.Wait()
	if sampled {
		asyncsuspend.Uninstall(m.cfg.sig)
	}
}

// Enter starts t's slice: t is now running, on the calling goroutine's
// thread. Call it on that goroutine, or on one that shares its locked OS
// thread (a coroutine resumed from it, as coroutine.Coroutine.Resume
// does). With WithOverrun, an overrun of the slice is sampled on that
// thread if it is registered with the signal handler (see the package
// comment); on any other thread t is still asked to yield, but an
// overrun goes unreported.
func (m *Monitor) Enter(t Target) { m.EnterAt(t, time.Now()) }

// EnterAt is Enter for a caller that has just read the clock: t's slice
// starts at now. A coroutine that keeps its slice's time itself (see
// SliceOver) reads the clock once for both.
func (m *Monitor) EnterAt(t Target, now time.Time) {
	// The thread is found now, on it, by its OS id: the tick that
	// samples runs elsewhere. The look-up costs a system call (gettid),
	// paid only when there is something to sample for, and not at all
	// for a target that knows its thread's record (a scheduler's
	// coroutine: the scheduler runs it on its own registered thread).
	var rec *asyncsuspend.Record
	if m.cfg.onOverrun != nil {
		if o, ok := t.(asyncsuspend.OnThread); ok {
			rec = o.ThreadRecord()
		}
		if rec == nil {
			rec = asyncsuspend.RecordOf(asyncsuspend.Gettid())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != started {
		return
	}
	m.running[t] = &slot{start: now, deadline: now.Add(m.cfg.slice), rec: rec}
	if m.timer == nil {
		m.ticks.Add(1)
		m.timer = time.AfterFunc(m.cfg.tick, m.tick)
	}
}

// Leave ends t's slice. The tick in flight, if any, is left to run: it
// arms no other once nothing runs. Stopping it here, and arming a new one
// at the next Enter, cost a scheduler that switches coroutines all the
// time a timer's creation and removal per switch whenever its runners
// were idle between two resumes for an instant.
func (m *Monitor) Leave(t Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.running, t)
}

// SliceOver reports whether a slice that started at start is over at now,
// for a coroutine that checks its own slice at its polls: false while the
// monitor is not started, which then asks nothing. It takes no lock: a
// coroutine may call it as often as it reads the clock. The monitor's
// ticks ask the same coroutines too, but a tick runs only on a P (see the
// package comment).
func (m *Monitor) SliceOver(start, now time.Time) bool {
	return m.active.Load() && now.Sub(start) >= m.cfg.slice
}

// Slice returns the monitor's time slice (WithSlice).
func (m *Monitor) Slice() time.Duration { return m.cfg.slice }

// Margin returns how far past its slice a coroutine may run before it is
// sampled as an overrun (WithOverrun), or 0 without WithOverrun.
func (m *Monitor) Margin() time.Duration { return m.cfg.margin }

// Samples reports whether the monitor samples overruns (WithOverrun):
// then it needs each coroutine's OS thread, registered with the signal
// handler.
func (m *Monitor) Samples() bool { return m.cfg.onOverrun != nil }

// Running returns how many coroutines are in a slice now.
func (m *Monitor) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.running)
}

func (m *Monitor) tick() {
	defer m.ticks.Done()
	now := time.Now()
	type sample struct {
		t   Target
		s   *slot
		ran time.Duration
	}
	var samples []sample
	m.mu.Lock()
	m.timer = nil
	if m.state != started {
		m.mu.Unlock()
		return
	}
	for t, s := range m.running {
		if now.Before(s.deadline) {
			continue
		}
		t.RequestPreemption()
		if m.cfg.onOverrun != nil && !s.reported && s.rec != nil && !now.Before(s.deadline.Add(m.cfg.margin)) {
			s.reported = true
			samples = append(samples, sample{t, s, now.Sub(s.start)})
		}
	}
	if len(m.running) > 0 {
		m.ticks.Add(1)
		m.timer = time.AfterFunc(m.cfg.tick, m.tick)
	}
	m.mu.Unlock()
	for _, sm := range samples {
		m.sample(sm.t, sm.s, sm.ran)
	}
}

// sample samples the thread of t's slice s, which has run for ran, and
// reports the overrun if the sample is in the program or if it was the
// last try; otherwise it leaves the slice to be sampled again at the next
// tick. The caller has set s.reported, so no other tick samples s
// meanwhile.
func (m *Monitor) sample(t Target, s *slot, ran time.Duration) {
	m.mu.Lock()
	tries := len(s.missed)
	m.mu.Unlock()
	// The kernel signals the thread a fraction of a tick after the
	// monitor has given its P away; the delay varies with each try so
	// that a periodic pattern of the guest's does not hide it every time.
	// The base delay only has to outlast the hand-over of the P (tens of
	// microseconds); it is bounded so that a long tick does not keep the
	// monitor waiting.
	delay := min(max(m.cfg.tick/4, 50*time.Microsecond), 250*time.Microsecond) * time.Duration(1+tries%4)
	if err := m.CheckSignals(); err != nil {
		// Nothing would answer the signal: say so, once for the slice
		// (s.reported stays set), instead of sampling in vain.
		m.mu.Lock()
		current := m.running[t] == s
		m.mu.Unlock()
		if current {
			m.cfg.onOverrun(Overrun{Name: t.Name(), Running: ran, Tid: s.rec.Tid(), Err: err})
		}
		return
	}
	ctx, err := s.rec.SampleAfter(m.cfg.sig, delay)
	m.mu.Lock()
	if err != nil {
		// The record is busy (a stop has the thread parked) or the
		// handler did not answer: try again at the next tick.
		s.reported = false
		m.mu.Unlock()
		return
	}
	fr := ctx.Where()
	o := Overrun{Name: t.Name(), Running: ran, Tid: s.rec.Tid()}
	switch {
	case m.running[t] != s:
		// The coroutine left Running, or began another slice, while the
		// signal was on its way: the sample is not of this slice.
		m.mu.Unlock()
		return
	case fr.Place() == arch.InProgram:
		o.Where = fr
	case len(s.missed)+1 < samplesPerReport:
		s.missed = append(s.missed, fr)
		s.reported = false
		m.mu.Unlock()
		return
	default:
		s.missed = append(s.missed, fr)
	}
	o.Missed = s.missed
	s.missed = nil // the report owns them
	m.mu.Unlock()
	m.cfg.onOverrun(o)
}
