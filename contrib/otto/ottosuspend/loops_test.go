package ottosuspend_test

import (
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/loopcheck"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
)

// TestModuleLoopsArePreemptible: no loop of this module may wait without
// a call Go can preempt at (internal/loopcheck): CI runs the core's suite
// with GODEBUG=asyncpreemptoff=1, where such a loop hangs the next garbage
// collection, and an embedder may run theirs so.
func TestModuleLoopsArePreemptible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole module with the inlining report")
	}
	findings, err := loopcheck.Check(testenv.GoTool(t), "..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("%s\n(give it a real call, or say why it cannot hang in a %q comment on the loop)", f, loopcheck.Exempt+" <reason>")
	}
}
