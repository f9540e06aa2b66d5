package starsuspend_test

// starlark-go's own test files, run on guest threads under stop storms.
// The files come from the module cache; the harness below does what
// go.starlark.net/starlark's eval_test.go does for TestExecFile (its
// chunkedfile and hasfields/fibonacci helpers are internal or test-only,
// so they are rewritten here), and records each file's result as text so
// that a run under a storm can be compared with a run without the
// library.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.starlark.net/lib/json"
	starlarkmath "go.starlark.net/lib/math"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/starlarktest"
	"go.starlark.net/syntax"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// peerFiles are TestExecFile's files, less proto.star: it needs a
// protobuf descriptor pool (go.starlark.net/lib/proto and
// google.golang.org/protobuf), which this module does not take on for
// one file. benchmark.star and paths.star are benchmark inputs and
// function_param.star is driven by value_test.go's own harness; none of
// them is in TestExecFile.
var peerFiles = []string{
	"assign.star", "bool.star", "builtins.star", "bytes.star", "control.star",
	"dict.star", "float.star", "function.star", "int.star", "json.star",
	"list.star", "math.star", "misc.star", "set.star", "string.star",
	"time.star", "tuple.star", "recursion.star", "module.star", "while.star",
}

// peerChunk is one chunk of a test file: its source, padded with
// newlines so that line numbers are the file's, and the errors its
// "### regexp" comments expect, by line.
type peerChunk struct {
	src      string
	wantErrs map[int]*regexp.Regexp
}

type peerFile struct {
	path   string
	chunks []peerChunk
}

// starlarkTestdata returns the directory of go.starlark.net's test files.
func starlarkTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.starlark.net").Output()
	if err != nil {
		t.Skipf("cannot locate go.starlark.net in the module cache (go list -m: %v)", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "starlark", "testdata")
}

func readPeerFiles(t *testing.T) []peerFile {
	t.Helper()
	dir := starlarkTestdata(t)
	var files []peerFile
	for _, name := range peerFiles {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := peerFile{path: path}
		line := 1
		for _, chunk := range strings.Split(string(data), "\n---\n") {
			c := peerChunk{src: strings.Repeat("\n", line-1) + chunk, wantErrs: map[int]*regexp.Regexp{}}
			for _, l := range strings.Split(chunk, "\n") {
				if _, after, ok := strings.Cut(l, "###"); ok {
					pat, err := strconv.Unquote(strings.TrimSpace(after))
					if err != nil {
						t.Fatalf("%s:%d: not a quoted regexp: %v", path, line, err)
					}
					c.wantErrs[line] = regexp.MustCompile(pat)
				}
				line++
			}
			f.chunks = append(f.chunks, c)
		}
		files = append(files, f)
	}
	return files
}

// reporter collects what starlarktest's assert module reports.
type reporter struct{ msgs []string }

func (r *reporter) Error(args ...any) { r.msgs = append(r.msgs, fmt.Sprint(args...)) }

// peerLoad is eval_test.go's load.
func peerLoad(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	switch module {
	case "assert.star":
		return starlarktest.LoadAssertModule()
	case "json.star":
		return starlark.StringDict{"json": json.Module}, nil
	case "time.star":
		return starlark.StringDict{"time": starlarktime.Module}, nil
	case "math.star":
		return starlark.StringDict{"math": starlarkmath.Module}, nil
	}
	filename := filepath.Join(filepath.Dir(thread.CallFrame(0).Pos.Filename()), module)
	return starlark.ExecFileOptions(&syntax.FileOptions{}, thread, filename, nil, nil)
}

func option(src, name string) bool { return strings.Contains(src, "option:"+name) }

// runPeerFile runs f on st and returns its result as text: per chunk,
// the assert failures, the expected errors that did and did not match,
// unexpected errors, and the steps the chunk took. Two runs agree
// exactly when the interpreter did exactly the same thing.
func runPeerFile(st *starlark.Thread, f peerFile) string {
	var out strings.Builder
	rep := &reporter{}
	starlarktest.SetReporter(st, rep)
	for i, c := range f.chunks {
		rep.msgs = rep.msgs[:0]
		want := make(map[int]*regexp.Regexp, len(c.wantErrs))
		for k, v := range c.wantErrs {
			want[k] = v
		}
		opts := &syntax.FileOptions{
			Set: option(c.src, "set"), While: option(c.src, "while"), TopLevelControl: option(c.src, "toplevelcontrol"),
			GlobalReassign: option(c.src, "globalreassign"), LoadBindsGlobally: option(c.src, "loadbindsglobally"),
			Recursion: option(c.src, "recursion"),
		}
		predeclared := starlark.StringDict{
			"hasfields": starlark.NewBuiltin("hasfields", newHasFields),
			"fibonacci": fib{},
			"struct":    starlark.NewBuiltin("struct", starlarkstruct.Make),
		}
		before := st.Steps
		_, err := starlark.ExecFileOptions(opts, st, f.path, c.src, predeclared)
		fmt.Fprintf(&out, "chunk %d: %d steps\n", i, st.Steps-before)
		var ee *starlark.EvalError
		switch {
		case errors.As(err, &ee):
			found := false
			for k := range ee.CallStack {
				if pos := ee.CallStack.At(k).Pos; pos.Filename() == f.path {
					line := int(pos.Line)
					if rx, ok := want[line]; ok && rx.MatchString(err.Error()) {
						fmt.Fprintf(&out, "  expected error at line %d\n", line)
						delete(want, line)
					} else {
						fmt.Fprintf(&out, "  UNEXPECTED error at line %d: %v\n", line, err)
					}
					found = true
					break
				}
			}
			if !found {
				fmt.Fprintf(&out, "  UNEXPECTED error: %s\n", ee.Backtrace())
			}
		case err != nil:
			fmt.Fprintf(&out, "  UNEXPECTED error: %v\n", err)
		}
		var missing []int
		for line := range want {
			missing = append(missing, line)
		}
		sort.Ints(missing)
		for _, line := range missing {
			fmt.Fprintf(&out, "  MISSING error at line %d\n", line)
		}
		for _, m := range rep.msgs {
			fmt.Fprintf(&out, "  ASSERT %s\n", m)
		}
	}
	return out.String()
}

// TestPeerSuiteUnderStorms runs starlark-go's test files on four guests
// at once, over and over, while a storm stops and restarts the world
// every 100 to 500 µs, under each policy. It checks:
//   - every file's result (assert failures, errors, steps per chunk) is
//     exactly its result on a plain starlark.Thread without the library,
//     and that plain result has no failure;
//   - no guest's step count moves while the world is stopped (the storm's
//     check reads every guest's steps, waits, and reads them again);
//   - every stop completes and leaves every thread in a stopped state of
//     the policy (the storm).
func TestPeerSuiteUnderStorms(t *testing.T) {
	files := readPeerFiles(t)
	baseline := make([]string, len(files))
	for i, f := range files {
		st := &starlark.Thread{Name: "baseline", Load: peerLoad}
		baseline[i] = runPeerFile(st, f)
		if strings.Contains(baseline[i], "UNEXPECTED") || strings.Contains(baseline[i], "MISSING") || strings.Contains(baseline[i], "ASSERT") {
			t.Fatalf("%s fails without the library:\n%s", filepath.Base(f.path), baseline[i])
		}
		again := runPeerFile(&starlark.Thread{Name: "baseline", Load: peerLoad}, f)
		if again != baseline[i] {
			t.Fatalf("%s gives different results on two plain runs; it cannot be compared:\n%s\n%s", filepath.Base(f.path), baseline[i], again)
		}
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
			for gi := range guests {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := &starlark.Thread{Name: fmt.Sprintf("peer-%d", gi), Load: peerLoad}
					err := starsuspend.Run(w, st, st.Name, func(*starsuspend.Guest) error {
						for k := gi; ; k++ {
							select {
							case <-stop:
								return nil
							default:
							}
							i := k % len(files)
							if got := runPeerFile(st, files[i]); got != baseline[i] {
								return fmt.Errorf("%s on %s under the storm:\n%s\nwithout the library:\n%s", filepath.Base(files[i].path), st.Name, got, baseline[i])
							}
							runs[gi]++
						}
					})
					if err != nil {
						errs <- err
					}
				}()
			}
			frozen := func(*suspend.Stopped) error {
				read := func() ([]uint64, error) {
					var steps []uint64
					for _, g := range starsuspend.Guests(w) {
						v, err := g.View()
						if err != nil {
							return nil, err
						}
						steps = append(steps, v.Steps)
					}
					return steps, nil
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
					return fmt.Errorf("guests' steps moved from %v to %v while the world was stopped", before, after)
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
			rep, serr := storm.End()
			close(stop)
			wg.Wait()
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
			t.Logf("%v: %d files run by %d guests; storm: %v", p, total, guests, rep)
			if rep.Stops == 0 || total == 0 {
				t.Fatalf("%d stops, %d files: nothing was tested", rep.Stops, total)
			}
		})
	}
}
