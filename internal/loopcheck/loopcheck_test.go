package loopcheck_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/loopcheck"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
)

// TestModuleLoopsArePreemptible: no loop of this module, in any of its
// builds (the normal one, Mono's checked build and the explorer's), may
// wait without a call Go can preempt at. CI runs the suite with
// GODEBUG=asyncpreemptoff=1, where such a loop hangs the next garbage
// collection (ExampleBy did, once, for 11 minutes).
func TestModuleLoopsArePreemptible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole module three times with the inlining report; the README's go test ./... runs it")
	}
	goTool := testenv.GoTool(t)
	for _, tags := range [][]string{nil, {"coopcheck"}, {"coopmodel"}} {
		t.Run(strings.Join(append([]string{"tags"}, tags...), "="), func(t *testing.T) {
			findings, err := loopcheck.Check(goTool, "../..", tags...)
			if err != nil {
				t.Fatal(err)
			}
			Report(t, findings)
		})
	}
}

// Report fails t with one line per finding and what to do about it.
func Report(t *testing.T, findings []loopcheck.Finding) {
	t.Helper()
	if len(findings) == 0 {
		return
	}
	var b strings.Builder
	for _, f := range findings {
		fmt.Fprintf(&b, "\n\t%s", f)
	}
	t.Errorf("%d loop(s) may wait without a preemption point, and would hang under GODEBUG=asyncpreemptoff=1:%s\n"+
		"Give each a real call (testenv.Preemptible in a test, a non-inlined step in an example), "+
		"skip its test with testenv.NeedsAsyncPreemption, or say why it cannot hang in a %q comment on the loop.",
		len(findings), b.String(), loopcheck.Exempt+" <reason>")
}

// TestFixture: the checker reports exactly the loops that the fixture
// module marks with "// want", in plain and test files.
func TestFixture(t *testing.T) {
	goTool := testenv.GoTool(t)
	dir := filepath.Join("testdata", "loops")
	findings, err := loopcheck.Check(goTool, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, fmt.Sprintf("%s:%d", filepath.Base(f.Pos.Filename), f.Pos.Line))
	}
	want := wantLines(t, dir)
	if !slices.Equal(got, want) {
		t.Errorf("findings at %v, want %v\n%v", got, want, findings)
	}
	if len(want) < 9 {
		t.Fatalf("the fixture marks only %d loops", len(want))
	}
}

// wantLines lists the lines of dir's Go files that hold "// want".
func wantLines(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	for _, name := range []string{"loops.go", "loops_test.go"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if strings.Contains(sc.Text(), "// want") {
				lines = append(lines, fmt.Sprintf("%s:%d", name, n))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return lines
}

// TestBrokenModuleIsAnError: a module that does not build is an error,
// never an empty list of findings.
func TestBrokenModuleIsAnError(t *testing.T) {
	goTool := testenv.GoTool(t)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module example.com/broken\n\ngo 1.26.0\n",
		"main.go": "package broken\n\nfunc f() { undefined() }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	findings, err := loopcheck.Check(goTool, dir)
	if err == nil {
		t.Fatalf("no error for a module that does not build; findings %v", findings)
	}
	if !strings.Contains(err.Error(), "undefined") {
		t.Errorf("the error does not say what is wrong: %v", err)
	}
}
