//go:build coopmodel

package modelcheck

import (
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The explorer must find bugs, not just pass: each mutant below is a
// small, plausible mistake in the shipping code, applied as a textual
// patch to a copy of the module, and the scenario named with it must
// fail on the copy with the explorer's report. A mutant whose text no
// longer occurs fails the test too, so the list cannot rot silently
// when the code changes.

var mutantFilter = flag.String("coopmodel.mutants", "", "run only the mutants whose name matches this regexp")

type mutant struct {
	name     string
	file     string // relative to the module root
	old, new string // old must occur exactly once in file
	scenario string // the scenario that must catch it
}

var mutants = []mutant{
	{name: "notifier-lost-post", file: "internal/core/notifier.go",
		old:      "		n.kick.TryPut() // false: a token is already there",
		new:      "		// mutant: the kick is never sent",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "notifier-post-reads-want-first", file: "internal/core/notifier.go",
		old:      "	if n.posts.Add(1) >= n.want.Load() {",
		new:      "	if want := n.want.Load(); n.posts.Add(1) >= want {",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "notifier-wait-publishes-want-late", file: "internal/core/notifier.go",
		old:      "		n.want.Store(n.waits + int64(n.pending))\n		if n.consume() {\n			continue\n		}",
		new:      "		if n.consume() {\n			continue\n		}\n		n.want.Store(n.waits + int64(n.pending))",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "park-without-notifying", file: "internal/core/threadside.go",
		old:      "		t.Notifier.PostArrival(t)\n		t.park()",
		new:      "		t.park()",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "park-before-notifying", file: "internal/core/threadside.go",
		old:      "		t.Notifier.PostArrival(t)\n		t.park()",
		new:      "		t.park()\n		t.Notifier.PostArrival(t)",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "exit-region-without-parking", file: "internal/core/threadside.go",
		old:      "	if r == ts.DoneBlockingWait {",
		new:      "	if r == ts.DoneBlockingWait && false {",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "cell-store-not-cas", file: "threadstate/cell.go",
		old:      "c.word.CompareAndSwap(uint32(before), uint32(after))",
		new:      "func() bool { c.word.Store(uint32(after)); return true }()",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "stop-does-not-wait", file: "suspend/stop.go",
		old:      "	if err := w.notifier.Wait(ctx); err != nil {\n		return nil, r.fail(err)",
		new:      "	if err := error(nil); err != nil {\n		return nil, r.fail(err)",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "suspend-thread-does-not-wait", file: "suspend/single.go",
		old:      "	err = w.notifier.Wait(ctx)",
		new:      "	err = nil",
		scenario: "suspend-vs-stop-two-initiators"},
	{name: "resume-posted-twice", file: "suspend/stop.go",
		old:      "		t.c.PostResume()",
		new:      "		t.c.PostResume()\n		t.c.PostResume()",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "resume-never-posted", file: "suspend/stop.go",
		old:      "		t.c.PostResume()",
		new:      "		// mutant: the parked thread is not woken",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "rollback-without-abort", file: "suspend/stop.go",
		old:      "		res, err := tg.t.c.Cell.Apply(threadstate.AbortAsyncSuspend)",
		new:      "		res, err := threadstate.True, error(nil)",
		scenario: "timeout-rollback-vs-poll"},
	{name: "rollback-without-cancel", file: "suspend/stop.go",
		old:      "			w.notifier.Cancel(1)",
		new:      "			// mutant: the pending operation is kept",
		scenario: "timeout-rollback-vs-poll"},
	{name: "restart-resumes-one-twice", file: "suspend/stop.go",
		old:      "		t := s.targets[(from+resumed)%n].t",
		new:      "		t := s.targets[(from+resumed/2)%n].t",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "suspend-lock-not-exclusive", file: "suspend/world.go",
		old:      "	if err := w.lock.Put(ctx); err == nil {",
		new:      "	if err := error(nil); err == nil {",
		scenario: "two-initiators"},
	{name: "initiator-waits-for-the-lock-outside-a-region", file: "suspend/world.go",
		old:      "	if self != nil && !self.c.InSafeRegion() {",
		new:      "	if false && self != nil && !self.c.InSafeRegion() {",
		scenario: "initiator-thread-by-self"},
	{name: "async-finish-not-applied", file: "suspend/stop.go",
		old:      "if res, err := t.c.Cell.Apply(threadstate.FinishAsyncSuspend); err != nil",
		new:      "if res, err := threadstate.True, error(nil); err != nil",
		scenario: "hybrid-stop-vs-async-park"},
	{name: "async-resume-not-sent", file: "suspend/stop.go",
		old:      "		recResumeAsync(t)",
		new:      "		// mutant: the handler is never released",
		scenario: "hybrid-stop-vs-async-park"},
	{name: "async-decline-taken-as-park", file: "suspend/stop.go",
		old:      "		if parked {",
		new:      "		if parked || true {",
		scenario: "hybrid-stop-vs-async-park"},
	// Caught by the explorer's end check of the semaphores (the token
	// is left posted) and by its check of what Stop returned, not by
	// the library's own checks.
	{name: "resume-posted-to-a-thread-that-never-parked", file: "suspend/stop.go",
		old:      "	case threadstate.ResumeInitSelfResume, threadstate.ResumeInitBlockingResume:",
		new:      "	case threadstate.ResumeInitSelfResume, threadstate.ResumeInitBlockingResume, threadstate.ResumeOk:",
		scenario: "stop-vs-poll-block-nosafepoints"},
	{name: "stop-misses-a-thread", file: "suspend/registry.go",
		old:      "		case t != self:",
		new:      "		case t != self && i > 0:",
		scenario: "stop-vs-poll-block-nosafepoints"},
	// OnRequest's function called before the request is on the word
	// (the nudge sent first, so that the thread is on its way): the
	// thread can take it and poll while still running, and then wait
	// for a nudge that never comes, with the stop waiting for its poll.
	{name: "onrequest-before-the-request", file: "suspend/stop.go",
		old: "	res, err := tg.t.c.Cell.Apply(threadstate.RequestSuspension)\n" +
			"	if err != nil {\n		panic(internalError(tg.t, err))\n	}\n	tg.requested = true\n" +
			"	switch res {\n	case threadstate.ReqSuspendInitSuspendRunning:\n" +
			"		// Go code stops only at its polls, in every policy (rule 1).\n" +
			"		tg.fromRunning = true\n		r.w.notifier.Add(1)\n		if f := tg.t.onRequest; f != nil {\n" +
			"			// After the request is on the word, before anyone waits for\n" +
			"			// the poll: a thread that polls through a channel (or waits\n" +
			"			// on one) is nudged toward its poll here.\n			f(tg.t)\n		}\n",
		new: "	if f := tg.t.onRequest; f != nil && tg.t.Word().State() == threadstate.Running {\n" +
			"		f(tg.t) // mutant: nudged before the request\n	}\n" +
			"	res, err := tg.t.c.Cell.Apply(threadstate.RequestSuspension)\n" +
			"	if err != nil {\n		panic(internalError(tg.t, err))\n	}\n	tg.requested = true\n" +
			"	switch res {\n	case threadstate.ReqSuspendInitSuspendRunning:\n" +
			"		tg.fromRunning = true\n		r.w.notifier.Add(1)\n",
		scenario: "nudge-only-poller"},
	// A held thread nudged too: harmless to the stop, but not what
	// OnRequest promises; caught by the count of calls per request.
	{name: "onrequest-for-a-held-thread", file: "suspend/stop.go",
		old: "		// A SuspendThread holds it already; this stop adds a count.\n",
		new: "		// A SuspendThread holds it already; this stop adds a count.\n" +
			"		if f := tg.t.onRequest; f != nil {\n			f(tg.t) // mutant\n		}\n",
		scenario: "nudge-only-poller"},
	{name: "detach-does-not-wait-out-a-suspend", file: "suspend/thread.go",
		old:      "		locked = false\n		w.release()\n		t.c.ExitSafe()",
		new:      "		locked = false\n		w.release()",
		scenario: "suspend-then-stop-one-initiator"},
}

var replayArg = regexp.MustCompile(`-coopmodel\.replay='([^']*)'`)

var failLine = regexp.MustCompile(`coopmodel: FAIL scenario=(\S+) bound=(\d+) preemptions=(\d+) steps=(\d+) execution=(\d+) phase="([^"]*)"`)

func TestMutantsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module once per mutant")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the mutants with (cross-built test binary)")
	}
	filter := regexp.MustCompile(*mutantFilter)
	for _, mu := range mutants {
		if !filter.MatchString(mu.name) {
			continue
		}
		t.Run(mu.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyModule(t, root, dir)
			path := filepath.Join(dir, mu.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(src), mu.old); n != 1 {
				t.Fatalf("%s: the mutated text occurs %d times, want once: %q", mu.file, n, mu.old)
			}
			mutated := strings.Replace(string(src), mu.old, mu.new, 1)
			if err := os.WriteFile(path, []byte(mutated), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(goTool, "test", "-trimpath", "-tags", "coopmodel", "-count=1",
				"-run", "TestModel$/^"+mu.scenario+"$", "./internal/modelcheck")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			m := failLine.FindStringSubmatch(string(out))
			if err == nil || m == nil {
				t.Fatalf("mutant not caught by %s (go test: %v):\n%s", mu.scenario, err, tail(string(out), 40))
			}
			if m[1] != mu.scenario {
				t.Fatalf("caught by %s, want %s", m[1], mu.scenario)
			}
			// The schedule printed replays the failure.
			rp := replayArg.FindStringSubmatch(string(out))
			firstErr := firstLines(string(out), m[0], 1)
			if rp == nil || firstErr == "" {
				t.Fatalf("no replay command or error in the report:\n%s", tail(string(out), 40))
			}
			cmd = exec.Command(goTool, "test", "-trimpath", "-tags", "coopmodel", "-count=1",
				"-run", "TestModel$", "./internal/modelcheck", "-coopmodel.replay="+rp[1])
			cmd.Dir = dir
			rout, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(rout), strings.TrimSpace(firstErr)) {
				t.Fatalf("replaying %s did not fail the same way (%v):\nwant %s\n%s",
					rp[1], err, firstErr, tail(string(rout), 20))
			}
			t.Logf("mutant %s caught by %s (bound %s) in %s execution %s, with %s preemptions, after %s steps; the schedule replays:\n%s",
				mu.name, m[1], m[2], m[6], m[5], m[3], m[4], firstLines(string(out), m[0], 3))
		})
	}
}

// copyModule copies the module's source (not .git, not contrib's own
// module) to dir.
func copyModule(t *testing.T, root, dir string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "contrib", "docs", ".ci", "fuzz":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// firstLines returns the line after the one containing marker, and n-1
// more: the failure's own description.
func firstLines(s, marker string, n int) string {
	i := strings.Index(s, marker)
	if i < 0 {
		return ""
	}
	lines := strings.SplitN(s[i:], "\n", n+2)
	if len(lines) > n+1 {
		lines = lines[:n+1]
	}
	return strings.Join(lines[1:], "\n")
}
