package testchild

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestOutcomes starts real children, one per way a child can end, and
// checks what the parent makes of each. Each case's body runs only in its
// own child.
func TestOutcomes(t *testing.T) {
	cases := []struct {
		name string
		body func(t *testing.T)
		// wantSkip, or else wantErr: "" for a pass, or a piece of the
		// error the parent must report.
		wantSkip bool
		wantErr  string
	}{
		{name: "passes", body: func(t *testing.T) { t.Logf("child pid %d", os.Getpid()) }},
		{name: "fails", body: func(t *testing.T) { t.Error("failing on purpose") }, wantErr: "failing on purpose"},
		{name: "skips", body: func(t *testing.T) { t.Skip("skipping on purpose") }, wantSkip: true},
		// os.Exit(0) in a test is a panic under -test.paniconexit0.
		{name: "exits", body: func(t *testing.T) { os.Exit(0) }, wantErr: "exit status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if name, ok := os.LookupEnv(envVar); ok {
				if name == t.Name() {
					c.body(t)
				}
				return
			}
			out, err := start(t, t.Name(), nil, nil)
			skipped, err := judge(t.Name(), out, err)
			switch {
			case c.wantSkip:
				if !skipped || err != nil {
					t.Fatalf("a skipping child: skipped %v, error %v; output:\n%s", skipped, err, out)
				}
			case c.wantErr == "":
				if err != nil || skipped {
					t.Fatalf("a passing child: skipped %v, error %v", skipped, err)
				}
				if !strings.Contains(string(out), "child pid ") || strings.Contains(string(out), fmt.Sprintf("child pid %d\n", os.Getpid())) {
					t.Fatalf("the body did not run in another process:\n%s", out)
				}
			default:
				if err == nil || skipped {
					t.Fatalf("a child that should fail: skipped %v, error %v; output:\n%s", skipped, err, out)
				}
				if !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("the error does not carry the child's output (%q): %v", c.wantErr, err)
				}
			}
		})
	}
}

// TestChildThatRanNothing: a child whose -test.run matches no test exits 0;
// the parent must still fail.
func TestChildThatRanNothing(t *testing.T) {
	if _, ok := os.LookupEnv(envVar); ok {
		return
	}
	const name = "TestNoSuchTest"
	out, err := start(t, name, nil, nil)
	if err != nil {
		t.Fatalf("a child that runs nothing should exit 0 (else this test proves nothing): %v\n%s", err, out)
	}
	if _, err := judge(name, out, nil); err == nil || !strings.Contains(err.Error(), "did not run") {
		t.Fatalf("a child that ran nothing was judged %v; output:\n%s", err, out)
	}
}

// TestExecEnv: with ExecEnv set, the child is started through that
// command (here env(1), which runs its arguments as they are, in front of
// the emulator if the parent runs under one).
func TestExecEnv(t *testing.T) {
	if _, ok := os.LookupEnv(envVar); ok {
		return
	}
	if _, err := exec.LookPath("env"); err != nil {
		t.Skipf("no env command to start the child through: %v", err)
	}
	t.Setenv(ExecEnv, strings.TrimSpace("env "+os.Getenv(ExecEnv)))
	const name = "TestOutcomes/passes"
	out, err := start(t, name, nil, nil)
	if _, err := judge(name, out, err); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ExecEnv, "/nonexistent/emulator")
	if out, err := start(t, name, nil, nil); err == nil {
		t.Fatalf("a child started through a missing command ran:\n%s", out)
	}
}

// TestRun goes through the front door: the body runs in a child, and the
// state it changes stays there.
func TestRun(t *testing.T) {
	const key = "COOPSUSPEND_TESTCHILD_PROBE"
	Run(t, func(t *testing.T) {
		if _, ok := os.LookupEnv(envVar); !ok {
			t.Fatal("the body ran in the parent")
		}
		// The kind of change Run exists for: no cleanup puts it back.
		if err := os.Setenv(key, "changed"); err != nil {
			t.Fatal(err)
		}
	})
	if _, ok := os.LookupEnv(key); ok && os.Getenv(envVar) == "" {
		t.Fatalf("%s leaked from the child into the parent", key)
	}
}

func TestRunPattern(t *testing.T) {
	for name, want := range map[string]string{
		"TestA":         "^TestA$",
		"TestA/sub":     "^TestA$/^sub$",
		"TestA/x.y#01":  `^TestA$/^x\.y#01$`,
		"TestA/(b)/c+d": `^TestA$/^\(b\)$/^c\+d$`,
	} {
		if got := runPattern(name); got != want {
			t.Errorf("runPattern(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRelated(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"TestA", "TestA", true},
		{"TestA", "TestA/sub", true},
		{"TestA/sub", "TestA", true},
		{"TestA", "TestAB", false},
		{"TestA/sub", "TestA/sub2", false},
	} {
		if got := related(c.a, c.b); got != c.want {
			t.Errorf("related(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
