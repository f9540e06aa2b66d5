package safepoint

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestPollInlines compiles this package with the compiler's inlining
// report and requires Poll to be inlinable, and compiles a caller to check
// that the call is really inlined there.
func TestPollInlines(t *testing.T) {
	out, err := exec.Command(testenv.GoTool(t), "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "can inline Poll") {
		t.Fatalf("Poll is not inlinable:\n%s", grep(string(out), "Poll"))
	}
	out, err = exec.Command(testenv.GoTool(t), "build", "-gcflags=-m", "./internal/pollcaller").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "inlining call to safepoint.Poll") {
		t.Fatalf("a caller's Poll is not inlined:\n%s", out)
	}
}

func grep(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCoreLayout checks the assumption coreOf rests on: a *suspend.Thread
// points at its core record.
func TestCoreLayout(t *testing.T) {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, w)
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("layout")
		if err != nil {
			t.Error(err)
			return
		}
		c := coreOf(th)
		if c.Name != th.Name() || c.ID != th.ID() || c.Cell.Load() != th.Word() {
			t.Errorf("core record %q/%d/%v does not match thread %q/%d/%v",
				c.Name, c.ID, c.Cell.Load(), th.Name(), th.ID(), th.Word())
		}
		c.EnterSafe()
		if th.Word() != threadstate.MakeWord(threadstate.Blocking, 0, false) {
			t.Errorf("a transition through the core record is not the thread's: %v", th.Word())
		}
		c.ExitSafe()
		if err := th.Detach(); err != nil {
			t.Error(err)
		}
	}()
	<-done
}

// closeAtEnd closes w when the test ends and fails the test if a thread
// was left attached. (suspendtest.NewWorld does this for tests outside
// the package; suspendtest imports safepoint, so tests inside it cannot
// use it.)
func closeAtEnd(t testing.TB, w *suspend.World) {
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("the world was left in use: %v", err)
		}
	})
}
