package ottosuspend_test

// otto's own JavaScript test programs, run on guest threads under stop
// storms. The programs and the results they expect are in
// testdata/otto_programs.json, extracted from otto's Go test files by
// internal/jsextract (see there for what is kept and what is left out,
// and why). The harness below runs a program the way otto's test harness
// does (a fresh VM per group of steps, a bare identifier read as a
// global, "raise:" steps expected to throw), and records each run's
// result as text, so that a run under a storm can be compared with a run
// without the library.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robertkrimen/otto"
	"github.com/robertkrimen/otto/underscore"

	"github.com/coopsuspend/coopsuspend/contrib/otto/ottosuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

func init() {
	// Importing otto's underscore package makes every otto.New load
	// underscore.js; only the programs of underscore's tests get it,
	// from the harness.
	underscore.Disable()
}

// peerFile is testdata/otto_programs.json.
type peerFile struct {
	Otto     string        `json:"otto"`
	Programs []peerProgram `json:"programs"`
	Skipped  []struct {
		Name, Reason string
	} `json:"skipped"`
}

type peerProgram struct {
	Name       string     `json:"name"`
	Underscore bool       `json:"underscore"`
	Steps      []peerStep `json:"steps"`
}

type peerStep struct {
	Line      int       `json:"line"`
	Src       string    `json:"src"`
	Raise     bool      `json:"raise"`
	Ident     bool      `json:"ident"`
	Want      *peerWant `json:"want"`
	Unchecked string    `json:"unchecked"`
}

type peerWant struct {
	Kind   string `json:"kind"`
	String string `json:"string"`
	Number string `json:"number"`
	Bool   bool   `json:"bool"`
}

// peerSkips are the programs of the file that the test leaves out, by
// name, with the reason. None is left out today; the extraction leaves
// out otto's tests that are not plain JavaScript programs, and says why
// in the file's "skipped" list, which the test logs.
var peerSkips = map[string]string{}

// shim is a QUnit-like harness for underscore's test programs (test,
// equal, ok, ...), written for this package: it counts the assertions in
// __asserts, the guest's progress, and collects the failures.
const shim = `
var __asserts = 0, __failures = [];
function __check(ok, msg) {
  __asserts++;
  if (!ok) { __failures.push(String(msg)); }
}
function module() {}
function equal(a, b, msg) { __check(a == b, msg + ": <" + a + "> != <" + b + ">"); }
var equals = equal;
function notEqual(a, b, msg) { __check(a != b, msg); }
function strictEqual(a, b, msg) { __check(a === b, msg + ": <" + a + "> !== <" + b + ">"); }
function notStrictEqual(a, b, msg) { __check(a !== b, msg); }
function deepEqual(a, b, msg) { __check(_.isEqual(a, b), msg); }
function ok(v, msg) { __check(v, msg); }
function raises(fn, expected, msg) {
  if (typeof expected === "string") { msg = expected; expected = null; }
  var thrown = false;
  try { fn(); } catch (e) { thrown = !expected || (expected instanceof RegExp ? expected.test(e) : e instanceof expected); }
  __check(thrown, msg);
}
function test(name, expected, fn) {
  if (typeof expected === "function") { fn = expected; }
  var settings = _.clone(_.templateSettings);
  try { fn(); } finally { _.templateSettings = settings; }
}
`

func readPeerPrograms(t *testing.T) peerFile {
	t.Helper()
	data, err := os.ReadFile("testdata/otto_programs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f peerFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Programs) == 0 {
		t.Fatal("testdata/otto_programs.json has no programs")
	}
	return f
}

var lineNumber = regexp.MustCompile(`line [0-9]+`)

// varies matches the sources of steps that read the clock or
// Math.random: their results differ from run to run.
var varies = regexp.MustCompile(`Date\.now|new Date\(\)|Math\.random`)

// peerRun is one run of a program in progress: how many steps it has
// done and, for underscore's, how many assertions (the storm's measure
// of progress, read while the world is stopped).
type peerRun struct {
	name  string
	steps int
	vm    *otto.Otto
}

// errHalt ends a run at the end of a storm.
var errHalt = errors.New("halted by the harness")

// newPeerVM returns the VM a program runs on: otto's, with underscore and
// the shim for underscore's programs.
func newPeerVM(p peerProgram) (*otto.Otto, error) {
	vm := otto.New()
	if p.Underscore {
		if _, err := vm.Run(underscore.Source()); err != nil {
			return nil, err
		}
		if _, err := vm.Run(shim); err != nil {
			return nil, err
		}
	}
	return vm, nil
}

// stepResult is one step's outcome, and whether it meets its Want.
type stepResult struct {
	text string
	err  error
	val  otto.Value
}

// runStep runs one step as otto's harness does.
func runStep(vm *otto.Otto, s peerStep) stepResult {
	var v otto.Value
	var err error
	if s.Ident {
		v, err = vm.Get(s.Src)
	} else {
		v, err = vm.Run(s.Src)
	}
	if err != nil {
		return stepResult{text: "error " + err.Error(), err: err}
	}
	return stepResult{text: kindOf(v) + " " + v.String(), val: v}
}

func kindOf(v otto.Value) string {
	switch {
	case v.IsUndefined():
		return "undefined"
	case v.IsNull():
		return "null"
	case v.IsBoolean():
		return "boolean"
	case v.IsNumber():
		return "number"
	case v.IsString():
		return "string"
	case v.IsFunction():
		return "function"
	default:
		return "object:" + v.Class()
	}
}

// meets reports why r does not meet the step's Want, or "".
func meets(s peerStep, r stepResult) string {
	// "raise:" lets a step throw (otto's harness then compares the
	// error's message with the expectation); it may also return, and
	// its value is compared.
	if !s.Raise && r.err != nil {
		return fmt.Sprintf("it threw %v", r.err)
	}
	w := s.Want
	if w == nil {
		return ""
	}
	if r.err != nil {
		if w.Kind != "error" || !strings.HasPrefix(r.err.Error(), w.String) {
			return fmt.Sprintf("it threw %q, want %+v", r.err, *w)
		}
		return ""
	}
	v := r.val
	switch w.Kind {
	case "string", "error":
		if v.String() != w.String {
			return fmt.Sprintf("got %s, want %q", r.text, w.String)
		}
	case "number":
		want, err := strconv.ParseFloat(w.Number, 64)
		if err != nil {
			return err.Error()
		}
		f, err := v.ToFloat()
		if err != nil || !v.IsNumber() || f != want && !(math.IsNaN(f) && math.IsNaN(want)) {
			return fmt.Sprintf("got %s, want the number %v", r.text, want)
		}
	case "bool":
		b, err := v.ToBoolean()
		if err != nil || !v.IsBoolean() || b != w.Bool {
			return fmt.Sprintf("got %s, want %v", r.text, w.Bool)
		}
	case "nullish":
		if !v.IsUndefined() && !v.IsNull() {
			return fmt.Sprintf("got %s, want undefined or null", r.text)
		}
	default:
		return "unknown expectation " + w.Kind
	}
	return ""
}

// runPeerProgram runs p's steps on vm (attached or not) and returns its
// result, a line per step, and the steps that miss their Want. A halt
// from the harness ends it early, with halted set.
func runPeerProgram(vm *otto.Otto, p peerProgram, r *peerRun) (lines []string, misses []string, halted bool) {
	defer func() {
		if x := recover(); x != nil {
			if x != errHalt {
				panic(x)
			}
			halted = true
		}
	}()
	for _, s := range p.Steps {
		res := runStep(vm, s)
		lines = append(lines, fmt.Sprintf("line %d: %s", s.Line, res.text))
		if why := meets(s, res); why != "" {
			misses = append(misses, fmt.Sprintf("line %d: %s", s.Line, why))
		}
		r.steps++
	}
	if p.Underscore {
		v, err := vm.Run(`__asserts + " asserts; failures: " + __failures.join("; ")`)
		if err != nil {
			return lines, append(misses, "reading the assertion count: "+err.Error()), false
		}
		lines = append(lines, v.String())
		if f, err := vm.Run("__failures.length"); err != nil || f.String() != "0" {
			misses = append(misses, v.String())
		}
	}
	return lines, misses, false
}

// TestPeerSuiteUnderStorms runs otto's own JavaScript test programs on
// four guests at once, over and over, while a storm stops and restarts
// the world every 100 to 500 µs, under each policy. It checks:
//   - every program meets the expectations otto's tests wrote for it on
//     a plain VM without the library (the extraction is right), and two
//     plain runs agree (steps that read the clock or Math.random do not,
//     and are left out of the comparisons below);
//   - every run under a storm gives exactly the plain run's results;
//   - no guest moves while the world is stopped: the storm's check reads
//     every guest's step count, assertion count and stack, waits, and
//     reads them again;
//   - every stop completes and leaves every thread in a stopped state of
//     the policy (the storm).
//
// The guests take the programs in turn, from the first.
//
// At the end, the runs in progress are halted through Guest.Interrupt
// (a func that panics, as otto's documentation halts a script), and not
// compared.
func TestPeerSuiteUnderStorms(t *testing.T) {
	file := readPeerPrograms(t)
	local := time.Local
	time.Local = time.UTC // as otto's date tests do (mockUTC)
	defer func() { time.Local = local }()

	var programs []peerProgram
	for _, p := range file.Programs {
		if why, ok := peerSkips[p.Name]; ok {
			t.Logf("skipped %s: %s", p.Name, why)
			continue
		}
		programs = append(programs, p)
	}
	// Plain runs: twice each, without the library.
	baseline := make([][]string, len(programs))
	steps, underscoreN, varying := 0, 0, 0
	start := time.Now()
	var slowest time.Duration
	var slowestName string
	for i, p := range programs {
		var runs [2][]string
		for k := range runs {
			vm, err := newPeerVM(p)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			began := time.Now()
			lines, misses, _ := runPeerProgram(vm, p, &peerRun{})
			if d := time.Since(began); d > slowest {
				slowest, slowestName = d, p.Name
			}
			if len(misses) > 0 {
				t.Errorf("%s misses otto's expectations without the library:\n%s", p.Name, strings.Join(misses, "\n"))
			}
			runs[k] = lines
		}
		// Steps that read the clock or Math.random, and any whose two
		// plain runs differ, are not compared.
		for j := range runs[0] {
			if runs[0][j] != runs[1][j] || j < len(p.Steps) && varies.MatchString(p.Steps[j].Src) {
				runs[0][j] = "(varies)"
				varying++
			}
		}
		baseline[i] = runs[0]
		steps += len(p.Steps)
		if p.Underscore {
			underscoreN++
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	reasons := map[string]int{}
	for _, sk := range file.Skipped {
		reasons[lineNumber.ReplaceAllString(sk.Reason, "line N")]++
	}
	t.Logf("left out by the extraction (reason: test functions or groups): %v", reasons)
	t.Logf("%d programs (%d of underscore's), %d steps (%d not compared: they read the clock or Math.random), otto %s; %d test functions or groups of otto's left out by the extraction; plain runs %v, the slowest %s (%v)",
		len(programs), underscoreN, steps, varying, file.Otto, len(file.Skipped), time.Since(start), slowestName, slowest)

	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	for _, pol := range policies {
		t.Run(pol.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(pol))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("%v needs asynchronous suspension, which does not work here: %v", pol, err)
			}
			const guests = 4
			var ending atomic.Bool
			var wg sync.WaitGroup
			runs := make([]int, guests)
			// The next program, for whichever guest is free: otto's
			// files in order, underscore's (the longest programs) last,
			// so that hybrid and preemptive, which get through fewer
			// programs (docs/otto.md), run as many as they can.
			var next atomic.Int64
			ran := make([]atomic.Bool, len(programs))
			errs := make(chan error, guests)
			var mu sync.Mutex // guards inProgress
			inProgress := map[*ottosuspend.Guest]*peerRun{}
			for gi := range guests {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !ending.Load() {
						i := int(next.Add(1)-1) % len(programs)
						p := programs[i]
						vm, err := newPeerVM(p)
						if err != nil {
							errs <- fmt.Errorf("%s: %w", p.Name, err)
							return
						}
						r := &peerRun{name: p.Name, vm: vm}
						var lines []string
						var halted bool
						err = ottosuspend.Run(w, vm, fmt.Sprintf("peer-%d", gi), func(g *ottosuspend.Guest) error {
							mu.Lock()
							inProgress[g] = r
							mu.Unlock()
							defer func() {
								mu.Lock()
								delete(inProgress, g)
								mu.Unlock()
							}()
							lines, _, halted = runPeerProgram(vm, p, r)
							return nil
						})
						if err != nil {
							errs <- fmt.Errorf("%s on guest %d: %w", p.Name, gi, err)
							return
						}
						if halted || ending.Load() {
							// Cut short at the end, or maybe: a halt
							// that a program's try statement caught
							// became a JavaScript exception.
							return
						}
						for j := range lines {
							if baseline[i][j] == "(varies)" {
								lines[j] = "(varies)"
							}
						}
						if got, want := strings.Join(lines, "\n"), strings.Join(baseline[i], "\n"); got != want {
							errs <- fmt.Errorf("%s on guest %d under the storm:\n%s\nwithout the library:\n%s", p.Name, gi, got, want)
							return
						}
						runs[gi]++
						ran[i].Store(true)
					}
				}()
			}
			// The storm's check: every attached guest's step count,
			// assertion count and stack, twice.
			read := func() (map[string]string, error) {
				mu.Lock()
				defer mu.Unlock()
				out := map[string]string{}
				for _, g := range ottosuspend.Guests(w) {
					v, err := g.View()
					if err != nil {
						return nil, err
					}
					r := inProgress[g]
					if r == nil {
						continue // attached, and not yet in its program
					}
					asserts := ""
					if a, err := r.vm.Get("__asserts"); err == nil && !a.IsUndefined() {
						asserts = a.String()
					}
					out[g.Name()] = fmt.Sprintf("%d steps, %s asserts, at %s", r.steps, asserts, stackOf(v))
				}
				return out, nil
			}
			// Where the slowest guest of each slow stop (over 1 ms) was
			// when it stopped: what held the stop up.
			slow, slowOutside := 0, 0
			slowAt := map[string]int{}
			frozen := func(st *suspend.Stopped) error {
				if a := st.Slowest(); a.Wait > time.Millisecond {
					for _, g := range ottosuspend.Guests(w) {
						if v, err := g.View(); err == nil && g.Name() == a.Thread {
							slow++
							if len(v.Stack) == 0 {
								// Go code: otto parsing a step's
								// source, the harness, or the first
								// nodes of a script.
								slowOutside++
								continue
							}
							mu.Lock()
							if r := inProgress[g]; r != nil {
								slowAt[r.name]++
							}
							mu.Unlock()
						}
					}
				}
				before, err := read()
				if err != nil {
					return err
				}
				time.Sleep(50 * time.Microsecond)
				after, err := read()
				if err != nil {
					return err
				}
				if fmt.Sprint(before) != fmt.Sprint(after) {
					return fmt.Errorf("guests moved while the world was stopped: %v, then %v", before, after)
				}
				return nil
			}
			storm := suspendtest.StartStorm(w, suspendtest.StormConfig{Check: frozen})
			select {
			case <-time.After(duration):
			case <-storm.Done():
			case err := <-errs:
				t.Error(err)
			}
			// Halt the runs in progress: through the guests, every
			// millisecond, until every guest's goroutine has ended (a
			// program's own try statement may catch a halt).
			ending.Store(true)
			finished := make(chan struct{})
			go func() {
				wg.Wait()
				close(finished)
			}()
			var cut []string
			mu.Lock()
			for _, r := range inProgress {
				cut = append(cut, fmt.Sprintf("%s at step %d", r.name, r.steps))
			}
			mu.Unlock()
			for halting := true; halting; {
				mu.Lock()
				for g := range inProgress {
					_ = g.Interrupt(func() { panic(errHalt) }) // ErrDetached if it has just detached
				}
				mu.Unlock()
				select {
				case <-finished:
					halting = false
				case <-time.After(time.Millisecond):
				}
			}
			rep, serr := storm.End()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if serr != nil {
				t.Fatal(serr)
			}
			total, distinct := 0, 0
			for _, n := range runs {
				total += n
			}
			for i := range ran {
				if ran[i].Load() {
					distinct++
				}
			}
			t.Logf("%v: %d runs of %d of the %d programs by %d guests (%v), then cut short: %s; storm: %v; %d stops took over 1 ms, %d of them waiting for a guest outside JavaScript (a position otto does not know), the others in %d programs, the most in %s",
				pol, total, distinct, len(programs), guests, runs, strings.Join(cut, ", "), rep, slow, slowOutside, len(slowAt), mostOf(slowAt))
			if rep.Stops == 0 || total == 0 {
				t.Fatalf("%d stops, %d programs: nothing was tested", rep.Stops, total)
			}
		})
	}
}

// mostOf returns the three keys of m with the highest counts.
func mostOf(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var out []string
	for _, k := range keys[:min(3, len(keys))] {
		out = append(out, fmt.Sprintf("%s (%d)", k, m[k]))
	}
	return strings.Join(out, ", ")
}
