package luasuspend_test

// gopher-lua's own Lua test scripts, run on guest threads under stop
// storms. The scripts come from the module cache; the harness below runs
// them the way gopher-lua's script_test.go does (TestGlua and TestLua:
// a fresh state per script, its registry and call stack sizes), and
// records each run's result as text, so that a run under a storm can be
// compared with a run without the library.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/coopsuspend/coopsuspend/contrib/gopherlua/luasuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// peerScripts are the scripts of gopher-lua's TestGlua (_glua-tests) and
// TestLua (_lua5.1-tests), all of them. The other files of
// _lua5.1-tests (all.lua, api.lua, big.lua, code.lua, db.lua, errors.lua,
// gc.lua, main.lua, nextvar.lua, verybig.lua, checktable.lua) are not in
// gopher-lua's own lists: they need the C API, a standalone interpreter
// or features gopher-lua lacks (checktable.lua is a module math.lua
// requires).
var peerScripts = []struct{ dir, name string }{
	{"_glua-tests", "base.lua"}, {"_glua-tests", "coroutine.lua"}, {"_glua-tests", "db.lua"},
	{"_glua-tests", "issues.lua"}, {"_glua-tests", "os.lua"}, {"_glua-tests", "table.lua"},
	{"_glua-tests", "vm.lua"}, {"_glua-tests", "math.lua"}, {"_glua-tests", "strings.lua"},
	{"_glua-tests", "goto.lua"},
	{"_lua5.1-tests", "attrib.lua"}, {"_lua5.1-tests", "calls.lua"}, {"_lua5.1-tests", "closure.lua"},
	{"_lua5.1-tests", "constructs.lua"}, {"_lua5.1-tests", "events.lua"}, {"_lua5.1-tests", "literals.lua"},
	{"_lua5.1-tests", "locals.lua"}, {"_lua5.1-tests", "math.lua"}, {"_lua5.1-tests", "sort.lua"},
	{"_lua5.1-tests", "strings.lua"}, {"_lua5.1-tests", "vararg.lua"}, {"_lua5.1-tests", "pm.lua"},
	{"_lua5.1-tests", "files.lua"},
}

// peerScript is one script, loaded.
type peerScript struct {
	dir, name string // the suite's directory, the file's name (its chunk name, as in gopher-lua's harness)
	src       string
}

func (s peerScript) String() string { return filepath.Base(s.dir) + "/" + s.name }

// gopherLuaDir returns the directory of gopher-lua in the module cache.
func gopherLuaDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yuin/gopher-lua").Output()
	if err != nil {
		t.Skipf("cannot locate github.com/yuin/gopher-lua in the module cache (go list -m: %v)", err)
	}
	return strings.TrimSpace(string(out))
}

func readPeerScripts(t *testing.T) []peerScript {
	t.Helper()
	root := gopherLuaDir(t)
	var out []peerScript
	for _, ps := range peerScripts {
		dir := filepath.Join(root, ps.dir)
		src, err := os.ReadFile(filepath.Join(dir, ps.name))
		if err != nil {
			t.Fatal(err)
		}
		s := peerScript{dir: dir, name: ps.name, src: string(src)}
		if ps.name == "attrib.lua" {
			// attrib.lua writes modules under "libs/", relative to the
			// working directory, requires them and removes them: four
			// guests in one process (one working directory) would
			// remove each other's. Each guest gets a libs directory of
			// its own instead (peerGuest.libs), a copy of the suite's.
			const dirLine = `local DIR = "libs/"`
			if !strings.Contains(s.src, dirLine) {
				t.Fatalf("%v no longer has %q", s, dirLine)
			}
			s.src = strings.Replace(s.src, dirLine, `local DIR = LIBS`, 1)
		}
		if ps.name == "os.lua" {
			// os.lua asserts that an environment variable is unset, sets
			// it, and reads it back: the environment is the process's,
			// so a second run, or a guest beside it, would find it set.
			// Each run gets a variable of its own instead (ENVVAR),
			// which the harness unsets after the run.
			const name = `"_____GLUATEST______"`
			if strings.Count(s.src, name) != 3 {
				t.Fatalf("%v no longer uses %s three times", s, name)
			}
			s.src = strings.ReplaceAll(s.src, name, "ENVVAR")
		}
		out = append(out, s)
	}
	return out
}

// peerRun is what one run of a script did, and how many assert calls it
// made so far (the storm's measure of progress).
type peerRun struct {
	out     strings.Builder
	asserts int
	envVar  string
}

// normalize removes from a script's printed output what differs between
// two runs of the same code: addresses (table: 0x…), and sort.lua's
// timings and comparison counts (it sorts math.random numbers, from Go's
// process-wide source, which concurrent guests share).
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`0x[0-9a-f]+`), "0x?"},
	{regexp.MustCompile(`in [0-9.]+ sec`), "in ? sec"},
	{regexp.MustCompile(`with [0-9]+ comparisons`), "with ? comparisons"},
}

func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// envVars numbers the environment variables of os.lua's runs.
var envVars atomic.Int64

// newPeerState returns a state set up as gopher-lua's harness sets up
// one, with print and assert recording into r, package.path leading to
// the script's suite, LIBS for attrib.lua and ENVVAR for os.lua.
func newPeerState(s peerScript, libs string, r *peerRun) *lua.LState {
	L := lua.NewState(lua.Options{RegistrySize: 1024 * 20, CallStackSize: 1024})
	assert := L.GetGlobal("assert").(*lua.LFunction).GFunction
	L.SetGlobal("assert", L.NewFunction(func(L *lua.LState) int {
		r.asserts++
		return assert(L)
	}))
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				r.out.WriteByte('\t')
			}
			r.out.WriteString(L.ToStringMeta(L.Get(i)).String())
		}
		r.out.WriteByte('\n')
		return 0
	}))
	pkg := L.GetGlobal("package").(*lua.LTable)
	pkg.RawSetString("path", lua.LString(filepath.Join(s.dir, "?.lua")+";"+pkg.RawGetString("path").String()))
	L.SetGlobal("LIBS", lua.LString(libs+string(filepath.Separator)))
	r.envVar = fmt.Sprintf("_____GLUATEST_%d_____", envVars.Add(1))
	L.SetGlobal("ENVVAR", lua.LString(r.envVar))
	return L
}

// runPeerScript runs s on L (attached or not) and returns its result:
// its error, what it printed, how many asserts it made, and the globals
// it left (names and types; values of strings and booleans). Two runs
// agree when the interpreter did the same thing.
func runPeerScript(L *lua.LState, s peerScript, r *peerRun) string {
	fn, err := L.Load(strings.NewReader(s.src), s.name)
	if err == nil {
		L.Push(fn)
		err = L.PCall(0, lua.MultRet, nil)
	}
	os.Unsetenv(r.envVar)
	var res strings.Builder
	fmt.Fprintf(&res, "%v: error %v; %d asserts\n", s, err, r.asserts)
	var globals []string
	L.G.Global.ForEach(func(k, v lua.LValue) {
		switch v.Type() {
		case lua.LTString, lua.LTBool:
			if k.String() == "ENVVAR" || k.String() == "LIBS" { // the harness's, per guest
				break
			}
			globals = append(globals, fmt.Sprintf("%s=%s(%v)", k, v.Type(), v))
		default:
			globals = append(globals, fmt.Sprintf("%s=%s", k, v.Type()))
		}
	})
	slices.Sort(globals)
	fmt.Fprintf(&res, "globals: %s\nprinted:\n%s", strings.Join(globals, " "), r.out.String())
	return normalize(res.String())
}

// copyDir copies the directory tree from into to.
func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
}

// newLibs returns a fresh, writable copy of _lua5.1-tests/libs.
func newLibs(t *testing.T, scripts []peerScript) string {
	t.Helper()
	libs := t.TempDir()
	for _, s := range scripts {
		if s.name == "attrib.lua" {
			if err := copyDir(filepath.Join(s.dir, "libs"), libs); err != nil {
				t.Fatal(err)
			}
		}
	}
	return libs
}

// progress is where the storm's check finds each attached guest's run in
// progress, and so its assert count.
type progress struct {
	sync.Mutex
	runs map[*luasuspend.Guest]*peerRun
}

// TestPeerSuiteUnderStorms runs gopher-lua's Lua test scripts on four
// guests at once, over and over, while a storm stops and restarts the
// world every 100 to 500 µs, under each policy. It checks:
//   - every script's result (its error, its printed output, its assert
//     calls, the globals it leaves) is exactly its result on a plain
//     state without the library, and that plain result has no error;
//   - no guest moves while the world is stopped: the storm's check reads
//     every guest's assert count and call stack, waits, and reads them
//     again;
//   - every stop completes and leaves every thread in a stopped state of
//     the policy (the storm).
//
// At the end, the guests' own context (set with LState.SetContext before
// Attach) is cancelled, which cuts the scripts in progress short; those
// runs are not compared.
func TestPeerSuiteUnderStorms(t *testing.T) {
	scripts := readPeerScripts(t)
	baseline := make([]string, len(scripts))
	plainLibs := newLibs(t, scripts)
	for i, s := range scripts {
		run := func() string {
			r := &peerRun{}
			L := newPeerState(s, plainLibs, r)
			defer L.Close()
			return runPeerScript(L, s, r)
		}
		start := time.Now()
		baseline[i] = run()
		took := time.Since(start)
		if !strings.Contains(baseline[i], "error <nil>") {
			t.Fatalf("%v fails without the library:\n%s", s, baseline[i])
		}
		if again := run(); again != baseline[i] {
			t.Fatalf("%v gives different results on two plain runs; it cannot be compared:\n%s\n%s", s, baseline[i], again)
		}
		t.Logf("%v: %v", s, took)
	}
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	for _, p := range []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive} {
		t.Run(p.String(), func(t *testing.T) {
			w := suspendtest.NewWorld(t, suspend.WithPolicy(p))
			if err := w.CheckSignals(); err != nil {
				t.Skipf("%v needs asynchronous suspension, which does not work here: %v", p, err)
			}
			const guests = 4
			stop := make(chan struct{})
			var wg sync.WaitGroup
			runs := make([]int, guests)
			errs := make(chan error, guests)
			prog := progress{runs: map[*luasuspend.Guest]*peerRun{}}
			// At the end, the scripts in progress are cut short through
			// the guests' own context, and not compared.
			ending, end := context.WithCancel(context.Background())
			defer end()
			for gi := range guests {
				libs := newLibs(t, scripts)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := gi; ; k++ {
						select {
						case <-stop:
							return
						default:
						}
						i := k % len(scripts)
						s := scripts[i]
						r := &peerRun{}
						L := newPeerState(s, libs, r)
						L.SetContext(ending)
						var got string
						err := luasuspend.Run(w, L, fmt.Sprintf("peer-%d", gi), func(g *luasuspend.Guest) error {
							prog.Lock()
							prog.runs[g] = r
							prog.Unlock()
							got = runPeerScript(L, s, r)
							prog.Lock()
							delete(prog.runs, g)
							prog.Unlock()
							return nil
						})
						L.Close()
						if ending.Err() != nil {
							return // cut short
						}
						if err == nil && got != baseline[i] {
							err = fmt.Errorf("%v on guest %d under the storm:\n%s\nwithout the library:\n%s", s, gi, got, baseline[i])
						}
						if err != nil {
							errs <- err
							return
						}
						runs[gi]++
					}
				}()
			}
			// The storm's check: every attached guest's assert count and
			// stack, twice.
			read := func() (map[string]string, error) {
				prog.Lock()
				defer prog.Unlock()
				out := map[string]string{}
				for _, g := range luasuspend.Guests(w) {
					v, err := g.View()
					if err != nil {
						return nil, err
					}
					r := prog.runs[g]
					if r == nil {
						continue // attached, and not yet in its script
					}
					out[g.Name()] = fmt.Sprintf("%d asserts at %s", r.asserts, stackOf(v))
				}
				return out, nil
			}
			// Where the slowest guest of each slow stop (over 1 ms) was
			// when it parked: what held the stop up.
			slowAt := map[string]int{}
			frozen := func(st *suspend.Stopped) error {
				if a := st.Slowest(); a.Wait > time.Millisecond {
					for _, g := range luasuspend.Guests(w) {
						if v, err := g.View(); err == nil && g.Name() == a.Thread && len(v.Stack) > 0 {
							slowAt[v.Where()+" in "+v.Stack[len(v.Stack)-1].Function]++
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
			end()
			close(stop)
			wg.Wait()
			rep, serr := storm.End()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if serr != nil {
				t.Fatal(serr)
			}
			total := 0
			for _, n := range runs {
				total += n
			}
			t.Logf("%v: %d scripts run by %d guests; storm: %v; the slowest guest of stops over 1 ms was at %v", p, total, guests, rep, slowAt)
			if rep.Stops == 0 || total == 0 {
				t.Fatalf("%d stops, %d scripts: nothing was tested", rep.Stops, total)
			}
		})
	}
}
