//go:build coopmodel

package seam

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The explorer: which executions of a Program to run.
//
// Depth-first search with a preemption bound (CHESS; loom's default
// mode): a decision that takes the processor from a proc that could have
// gone on is a preemption; switching away from a proc that blocked or
// finished is free. Bugs of concurrent code mostly need few preemptions,
// and the number of executions with at most k of them is polynomial in
// the length of the program rather than exponential. The search starts
// with the execution that never preempts, and backtracks from the last
// decision: each decision point tries every option its budget allows,
// the non-preemptive one first. With the bound it is exhaustive: every
// execution with at most Bound preemptions is run once, unless
// MaxExecutions stops it first (Stats.Exhausted says which).
//
// Randomized priorities (PCT, Burckhardt et al., ASPLOS 2010) then reach
// deeper schedules: each execution gives the procs random distinct
// priorities and always runs the highest enabled one, and at Depth-1
// random steps lowers the running proc below all others. A bug that
// needs d ordering constraints is found by one execution with
// probability at least 1/(n·k^(d-1)) for n procs and k steps.
//
// The run's timer (a stop's timeout) is one more option wherever it may
// fire, at most once per execution. Firing it while the deciding proc
// could go on costs a preemption, as CHESS counts a timer: otherwise it
// would double the executions at every step of every wait. A select
// whose two cases are both ready is a decision too, free of cost.
//
// Every decision is recorded; the string of them (Schedule) replays the
// execution exactly, since the program is deterministic given the
// decisions: the replay checks that each recorded option is offered.

// Config says how much to explore.
type Config struct {
	Bound         int // preemption bound of the depth-first search
	MaxExecutions int // cap on the depth-first search's executions (0: none)
	PCTRuns       int // randomized executions after the search
	PCTDepth      int // PCT's d: priority changes plus one
	Seed          uint64
	MaxSteps      int // steps after which an execution is a livelock (0: DefaultMaxSteps)
}

// Stats says what an exploration ran.
type Stats struct {
	DFS       int  // depth-first executions run
	Exhausted bool // the search ran every execution within the bound
	PCT       int  // randomized executions run
	MaxSteps  int  // longest execution, in scheduling decisions
	Timeouts  int  // executions in which the timer fired
	Took      time.Duration
}

func (s Stats) String() string {
	ex := "exhausted"
	if !s.Exhausted {
		ex = "capped"
	}
	return fmt.Sprintf("%d executions (%d depth-first, %s; %d PCT), up to %d steps, %d with the timer fired, in %v",
		s.DFS+s.PCT, s.DFS, ex, s.PCT, s.MaxSteps, s.Timeouts, s.Took.Round(time.Millisecond))
}

// Failure is an execution that failed, with what replays it.
type Failure struct {
	Err         error
	Schedule    string // the decisions, for Replay
	Phase       string // "dfs" or "pct seed=N"
	Execution   int    // how many executions the exploration had run, this one included
	Steps       int
	Preemptions int
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%v\n  found by %s in execution %d, after %d steps with %d preemptions\n  schedule: %s",
		f.Err, f.Phase, f.Execution, f.Steps, f.Preemptions, f.Schedule)
}

func (f *Failure) Unwrap() error { return f.Err }

// Explore runs prog under the depth-first search and then PCT, and
// returns at the first failure.
func Explore(prog Program, cfg Config) (Stats, *Failure) {
	// One P: a handoff then wakes the next proc on the same thread
	// rather than another (a third of the time spent, measured).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	start := time.Now()
	var st Stats
	maxSteps := cfg.MaxSteps
	if maxSteps == 0 {
		maxSteps = DefaultMaxSteps
	}
	note := func(r *Run) {
		st.MaxSteps = max(st.MaxSteps, r.steps)
		if r.timerFired {
			st.Timeouts++
		}
	}
	d := &dfs{bound: cfg.Bound}
	for {
		d.begin()
		r, err := execute(prog, d, maxSteps)
		st.DFS++
		note(r)
		if err == nil && d.err != nil {
			err = d.err
		}
		if err != nil {
			st.Took = time.Since(start)
			return st, &Failure{Err: err, Schedule: encode(r.trace), Phase: "dfs", Execution: st.DFS,
				Steps: r.steps, Preemptions: d.preemptions()}
		}
		if !d.next() {
			st.Exhausted = true
			break
		}
		if cfg.MaxExecutions > 0 && st.DFS >= cfg.MaxExecutions {
			break
		}
	}
	for i := 0; i < cfg.PCTRuns; i++ {
		seed := cfg.Seed + uint64(i)
		p := newPCT(seed, cfg.PCTDepth, st.MaxSteps)
		r, err := execute(prog, p, maxSteps)
		st.PCT++
		note(r)
		if err != nil {
			st.Took = time.Since(start)
			return st, &Failure{Err: err, Schedule: encode(r.trace), Phase: "pct seed=" + strconv.FormatUint(seed, 10),
				Execution: st.DFS + st.PCT, Steps: r.steps, Preemptions: p.preemptions}
		}
	}
	st.Took = time.Since(start)
	return st, nil
}

// DefaultMaxSteps is the step limit unless Config says otherwise: an
// execution that has not ended after it is a livelock.
const DefaultMaxSteps = 100000

// Replay runs prog once under schedule (from a Failure of an exploration
// with the default step limit) and returns its failure, or nil if the
// execution passes.
func Replay(prog Program, schedule string) *Failure {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	seq, err := decode(schedule)
	if err != nil {
		return &Failure{Err: err, Phase: "replay"}
	}
	rp := &replay{seq: seq}
	r, err := execute(prog, rp, DefaultMaxSteps)
	if err == nil {
		err = rp.err
	}
	if err == nil {
		return nil
	}
	return &Failure{Err: err, Schedule: encode(r.trace), Phase: "replay", Execution: 1, Steps: r.steps}
}

// A strategy takes the run's decisions.
type strategy interface {
	// pick chooses among opts (proc ids, ascending, then perhaps
	// timerID); cur is the proc deciding, enabled or not (-2: none).
	pick(cur int, curEnabled bool, opts []int) int
	// choose chooses one of n outcomes of an operation.
	choose(n int) int
}

// dfs is the preemption-bounded depth-first search. Its stack holds one
// node per decision of the current execution.
type dfs struct {
	bound int
	stack []node
	depth int   // decisions taken in the current execution
	err   error // nondeterminism seen while replaying the prefix
}

type node struct {
	opts       []int // the options offered (a choose: 0..n-1)
	order      []int // indices into opts, in the order they are tried
	k          int   // position in order of the option being run
	cur        int
	curEnabled bool
	isChoice   bool
	spent      int // preemptions spent before this decision
}

func (n *node) chosen() int { return n.opts[n.order[n.k]] }

// cost is 1 if taking option opt at n is a preemption.
func (n *node) cost(opt int) int {
	if n.isChoice || !n.curEnabled || opt == n.cur {
		return 0
	}
	return 1
}

func (d *dfs) begin() { d.depth = 0; d.err = nil }

func (d *dfs) preemptions() int {
	if d.depth == 0 {
		return 0
	}
	n := &d.stack[d.depth-1]
	return n.spent + n.cost(n.chosen())
}

func (d *dfs) decide(fresh node) int {
	i := d.depth
	d.depth++
	if i < len(d.stack) {
		n := &d.stack[i]
		if !slices.Equal(n.opts, fresh.opts) || n.isChoice != fresh.isChoice {
			if d.err == nil {
				d.err = fmt.Errorf("nondeterminism: decision %d offered %v, %v before", i, fresh.opts, n.opts)
			}
			// Go on with the fresh node; the execution fails anyway.
			d.stack = d.stack[:i]
		} else {
			return n.chosen()
		}
	}
	if i > 0 {
		p := &d.stack[i-1]
		fresh.spent = p.spent + p.cost(p.chosen())
	}
	first := 0
	if !fresh.isChoice && fresh.curEnabled {
		first = slices.Index(fresh.opts, fresh.cur)
	}
	fresh.order = append(fresh.order, first)
	for j := range fresh.opts {
		if j != first {
			fresh.order = append(fresh.order, j)
		}
	}
	d.stack = append(d.stack, fresh)
	return fresh.chosen()
}

func (d *dfs) pick(cur int, curEnabled bool, opts []int) int {
	return d.decide(node{opts: slices.Clone(opts), cur: cur, curEnabled: curEnabled})
}

func (d *dfs) choose(n int) int {
	opts := make([]int, n)
	for i := range opts {
		opts[i] = i
	}
	return d.decide(node{opts: opts, isChoice: true})
}

// next moves to the next execution: the deepest decision with an option
// left within the budget takes it, and everything after it is new.
func (d *dfs) next() bool {
	d.stack = d.stack[:d.depth]
	for len(d.stack) > 0 {
		n := &d.stack[len(d.stack)-1]
		for n.k+1 < len(n.order) {
			n.k++
			if n.spent+n.cost(n.chosen()) <= d.bound {
				return true
			}
		}
		d.stack = d.stack[:len(d.stack)-1]
	}
	return false
}

// pct is one execution of the PCT scheduler.
type pct struct {
	rng         *rand.Rand
	prio        map[int]int // proc id (or timerID) -> priority; higher runs
	change      []int       // steps at which the running proc is demoted
	step        int
	last        int
	preemptions int
	depth       int
}

func newPCT(seed uint64, depth, steps int) *pct {
	p := &pct{rng: rand.New(rand.NewPCG(seed, 0x636f6f70)), prio: map[int]int{}, depth: max(depth, 1), last: -2}
	for i := 1; i < p.depth; i++ {
		p.change = append(p.change, 1+p.rng.IntN(max(steps, 1)))
	}
	return p
}

func (p *pct) priority(id int) int {
	pr, ok := p.prio[id]
	if !ok {
		// Initial priorities are above every demoted one (which are
		// 1..depth-1) and distinct.
		pr = p.depth + 1 + p.rng.IntN(1<<20)
		for slices.Contains(slices.Collect(mapValues(p.prio)), pr) {
			pr++
		}
		p.prio[id] = pr
	}
	return pr
}

func mapValues(m map[int]int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func (p *pct) pick(cur int, curEnabled bool, opts []int) int {
	p.step++
	for i, at := range p.change {
		if at == p.step && cur >= 0 {
			p.prio[cur] = i + 1
		}
	}
	best := opts[0]
	for _, o := range opts[1:] {
		if p.priority(o) > p.priority(best) {
			best = o
		}
	}
	if curEnabled && best != cur {
		p.preemptions++
	}
	return best
}

func (p *pct) choose(n int) int { return p.rng.IntN(n) }

// replay follows a recorded schedule.
type replay struct {
	seq []int
	i   int
	err error
}

func (rp *replay) next(valid func(int) bool) int {
	if rp.i >= len(rp.seq) {
		if rp.err == nil {
			rp.err = errors.New("replay: the schedule ended before the execution did")
		}
		return -3
	}
	c := rp.seq[rp.i]
	rp.i++
	if !valid(c) && rp.err == nil {
		rp.err = fmt.Errorf("replay: decision %d is %d, which was not offered: the program changed", rp.i-1, c)
	}
	return c
}

func (rp *replay) pick(cur int, curEnabled bool, opts []int) int {
	c := rp.next(func(c int) bool { return slices.Contains(opts, c) })
	if !slices.Contains(opts, c) {
		c = opts[0]
	}
	return c
}

func (rp *replay) choose(n int) int {
	c := rp.next(func(c int) bool { return c >= 0 && c < n })
	if c < 0 || c >= n {
		c = 0
	}
	return c
}

// encode writes decisions as dot-separated tokens, "t" for the timer and
// "d*k" for k repeats of d: "0*12.1.t.0*3".
func encode(trace []int) string {
	var b strings.Builder
	for i := 0; i < len(trace); {
		j := i
		for j < len(trace) && trace[j] == trace[i] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if trace[i] == timerID {
			b.WriteByte('t')
		} else {
			b.WriteString(strconv.Itoa(trace[i]))
		}
		if j-i > 1 {
			b.WriteByte('*')
			b.WriteString(strconv.Itoa(j - i))
		}
		i = j
	}
	return b.String()
}

func decode(s string) ([]int, error) {
	var out []int
	if s == "" {
		return out, nil
	}
	for _, tok := range strings.Split(s, ".") {
		v, rep, hasRep := strings.Cut(tok, "*")
		n := 1
		if hasRep {
			var err error
			if n, err = strconv.Atoi(rep); err != nil || n < 1 {
				return nil, fmt.Errorf("schedule: bad repeat in %q", tok)
			}
		}
		d := timerID
		if v != "t" {
			var err error
			if d, err = strconv.Atoi(v); err != nil || d < 0 {
				return nil, fmt.Errorf("schedule: bad decision %q", tok)
			}
		}
		for range n {
			out = append(out, d)
		}
	}
	return out, nil
}
