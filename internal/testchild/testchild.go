// Package testchild runs a test's body in a child process: a fresh run of
// the test binary that runs that one test and nothing else.
//
// Some tests change the process in a way nothing can take back:
// signal.Ignore leaves a signal ignored even after signal.Reset (Go's
// handler is not put back), and a world's signal handler stays installed
// for the life of the process. Run in the test binary itself, such a test
// breaks every later test that uses the signal, and its own next round
// under go test -count=N. In a child process the damage dies with the
// child.
package testchild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envVar, in a child's environment, names the test it was started for. Its
// presence is what makes a process a child: a child never starts another.
const envVar = "COOPSUSPEND_TESTCHILD"

// ExecEnv names the environment variable that holds a command to start the
// child with, as go test's -exec does for the parent: under an emulator
// such as qemu-user without binfmt_misc, the kernel cannot run the test
// binary, but the emulator can.
const ExecEnv = "COOPSUSPEND_TESTCHILD_EXEC"

// Run runs body in a child process and fails t, with the child's output,
// unless the child ran t's test and it passed. A child that skipped skips
// t. In the child itself, Run just calls body.
//
// The child gets -test.short if the parent has it, the parent's GOMAXPROCS
// and a timeout within the parent's, so that a hung child ends with its
// goroutine dump before the parent's own timeout kills it unseen.
func Run(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	RunWithEnv(t, nil, body)
}

// RunWithEnv is Run with env (KEY=value entries) added to the child's
// environment, for settings a process reads once, at its start, such as
// GODEBUG's runtime options.
func RunWithEnv(t *testing.T, env []string, body func(t *testing.T)) {
	t.Helper()
	run(t, env, nil, body)
}

func run(t *testing.T, env []string, attr *syscall.SysProcAttr, body func(t *testing.T)) {
	t.Helper()
	if name, ok := os.LookupEnv(envVar); ok {
		if !related(name, t.Name()) {
			t.Fatalf("testchild: this child process was started for %s; %s is not part of it", name, t.Name())
		}
		body(t)
		return
	}
	out, err := start(t, t.Name(), env, attr)
	if errors.Is(err, syscall.ENOEXEC) {
		t.Skipf("cannot start the test binary again here (%v); under an emulator, set %s to it", err, ExecEnv)
	}
	if attr != nil && errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot start the child in a PID namespace of its own here (%v): it takes CAP_SYS_ADMIN", err)
	}
	if attr != nil && errors.Is(err, syscall.EINVAL) {
		t.Skipf("cannot start the child in a PID namespace of its own here (%v): the clone flags are refused, as qemu-user refuses CLONE_NEWPID", err)
	}
	skipped, err := judge(t.Name(), out, err)
	if err != nil {
		t.Fatal(err)
	}
	if skipped {
		t.Skipf("skipped in its child process:\n%s", out)
	}
	t.Logf("passed in its child process:\n%s", out)
}

// related reports whether one test contains the other (or they are the
// same): a child started for a subtest also runs the tests around it, and
// one started for a test runs its subtests.
func related(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// start runs the test binary for the test named name alone, with -test.v
// so that its verdict line can be found, and returns its combined output.
func start(t *testing.T, name string, env []string, attr *syscall.SysProcAttr) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("testchild: cannot find the test binary to run %s in a child process: %w", name, err)
	}
	args := []string{
		"-test.run=" + runPattern(name),
		"-test.v=true",
		"-test.count=1",
		fmt.Sprintf("-test.cpu=%d", runtime.GOMAXPROCS(0)),
		"-test.paniconexit0",
	}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if deadline, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+(time.Until(deadline)*9/10).String())
	}
	argv := append(strings.Fields(os.Getenv(ExecEnv)), exe)
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	cmd.Env = append(append(os.Environ(), env...), envVar+"="+name)
	cmd.SysProcAttr = attr
	return cmd.CombinedOutput()
}

// runPattern is the -test.run pattern that selects the test named name and
// no other: each level of the name, quoted and anchored.
func runPattern(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = "^" + regexp.QuoteMeta(l) + "$"
	}
	return strings.Join(levels, "/")
}

// judge reads how the child for the test named name ended. Exit status 0
// is not enough: a pattern that matches nothing also exits 0, so the
// child's verdict line for that very test must say PASS (or SKIP).
func judge(name string, out []byte, runErr error) (skipped bool, err error) {
	if runErr != nil {
		return false, fmt.Errorf("%s failed in its child process (%v):\n%s", name, runErr, out)
	}
	verdict := regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): ` + regexp.QuoteMeta(name) + ` \(`).FindSubmatch(out)
	switch {
	case verdict == nil:
		return false, fmt.Errorf("the child process did not run %s:\n%s", name, out)
	case string(verdict[1]) == "SKIP":
		return true, nil
	case string(verdict[1]) == "FAIL":
		return false, fmt.Errorf("%s failed in its child process, which still exited 0:\n%s", name, out)
	}
	return false, nil
}
