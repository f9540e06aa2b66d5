package coroutine_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/testenv"
)

// TestYieldInlines compiles the package with the compiler's inlining
// report and requires Suspender.Yield to be inlinable: inlined into the
// body, it leaves the switch as the only call between the body and the
// resumer, which is worth about a tenth of a round trip
// (BenchmarkRoundTripDepth). A change that pushes Yield over the
// inliner's budget fails here rather than only in a benchmark.
func TestYieldInlines(t *testing.T) {
	out, err := exec.Command(testenv.GoTool(t), "build", "-gcflags=-m=2", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`can inline \(\*Suspender\[go\.shape\.[^\n]*\]\)\.Yield with cost`).Match(out) {
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "Yield") {
				lines = append(lines, l)
			}
		}
		t.Fatalf("Suspender.Yield is not inlinable:\n%s", strings.Join(lines, "\n"))
	}
}
