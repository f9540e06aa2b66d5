//go:build !coopmodel

package seam_test

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/seam"
	"github.com/coopsuspend/coopsuspend/internal/testenv"
)

// In a normal build the seam must cost nothing (doc.go). What can be
// checked again at any time, in one process: the atomic and mutex types
// are sync's and sync/atomic's own (this file compiles only if they
// are), the object code of the stop path calls no seam function except
// three that sit in front of a blocking channel operation
// (TestSeamCompilesAway), and those three cost next to nothing against
// the operation itself (the benchmark pairs below, docs/benchmarks.md,
// "The seam").

// The aliases: a *seam.Uint32 is a *atomic.Uint32, and so on. These
// assignments compile only while that holds.
var (
	_ *atomic.Uint32 = (*seam.Uint32)(nil)
	_ *atomic.Int64  = (*seam.Int64)(nil)
	_ *sync.RWMutex  = (*seam.RWMutex)(nil)
	_ chan struct{}  = seam.Token(nil)
)

// seamCalls are the seam functions the stop path's object code may still
// call in a normal build, each because the compiler finds it over its
// inlining budget, and each only in front of a channel operation that
// blocks or wakes a goroutine (microseconds, against the call's
// nanosecond).
var seamCalls = map[string]string{
	"seam.Token.Put":     "World.acquire's wait for another initiator's suspend lock, after TryPut failed",
	"seam.Token.TakeCtx": "Notifier.Wait's wait for the kick, after the posts that had arrived were consumed",
	"seam.(*Sema).token": "a park's wait on, or a restart's post to, a thread's resume channel (made on first use)",
}

var (
	stext    = regexp.MustCompile(`^(\S+) STEXT `)
	seamCall = regexp.MustCompile(`\tCALL\t.*/internal/(seam\.[^(]*(?:\([^)]*\))?[^(]*)\(SB\)`)
)

// TestSeamCompilesAway compiles the stop path (threadstate, internal/core,
// suspend, safepoint) to assembly and lists every call into package seam
// that is left: only the calls in seamCalls with a reason may be. Cell's
// word, the notifier's counters, the registry mutex, the suspend lock's
// TryPut and Take and every Point are gone: aliases or inlined.
func TestSeamCompilesAway(t *testing.T) {
	goTool := testenv.GoTool(t)
	const mod = "github.com/coopsuspend/coopsuspend/"
	pkgs := []string{mod + "threadstate", mod + "internal/core", mod + "suspend", mod + "safepoint"}
	out, err := exec.Command(goTool, append([]string{"build", "-gcflags=-S"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-S: %v\n%s", err, out)
	}
	found := map[string][]string{} // callee -> callers
	fn := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := stext.FindStringSubmatch(line); m != nil {
			fn = m[1][strings.LastIndex(m[1], "/")+1:]
			continue
		}
		if m := seamCall.FindStringSubmatch(line); m != nil {
			found[m[1]] = append(found[m[1]], fn)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "threadstate.(*Cell).Apply STEXT") {
		t.Fatalf("no assembly for Cell.Apply in the compiler's output; did -S change?\n%.2000s", out)
	}
	var callees []string
	for c := range found {
		callees = append(callees, c)
	}
	sort.Strings(callees)
	for _, c := range callees {
		why := seamCalls[c]
		if why == "" {
			t.Errorf("the stop path calls %s (from %v) in a normal build: the seam is not free there", c, found[c])
			continue
		}
		t.Logf("%s, called from %v: %s", c, found[c], why)
	}
	// Cell.Apply and Poll (Cell.Load, inlined; PollSlow) call none.
	for callee, callers := range found {
		for _, c := range callers {
			if strings.HasPrefix(c, "threadstate.") || strings.HasPrefix(c, "safepoint.") {
				t.Errorf("%s calls %s", c, callee)
			}
		}
	}

	// The cheap operations are inlined, not merely inlinable: the
	// compiler says so at their call sites.
	out, err = exec.Command(goTool, "build", "-gcflags=-m", mod+"internal/seam").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, f := range []string{"Token.TryPut", "Token.Take", "Point", "(*Sema).TryPost", "(*Sema).Wait", "NewToken"} {
		if !strings.Contains(string(out), "can inline "+f+"\n") {
			t.Errorf("seam.%s is not inlinable", f)
		}
	}
}

// The benchmark pairs: each seam operation that survives as a call, or
// that stands in for a select the code once wrote inline, against the
// direct channel operation, in one process. Neither blocks: the token
// is always there to take. The two sides run in alternating chunks of
// 1,000 operations, so that a load that comes and goes on a shared
// machine weighs on both alike; each b.Loop iteration is one chunk of
// each (-benchtime 2000x: 2,000,000 operations of each side). Each
// reports the fastest chunk's and the median chunk's time per operation
// (seam-min-ns/op and so on; the usual ns/op, both sides together, is
// left out).

func pair(b *testing.B, seamOp, directOp func()) {
	const chunk = 1000
	var seamT, directT []float64
	run := func(op func()) float64 {
		start := time.Now()
		for range chunk {
			op()
		}
		return float64(time.Since(start).Nanoseconds()) / chunk
	}
	for b.Loop() {
		seamT = append(seamT, run(seamOp))
		directT = append(directT, run(directOp))
	}
	slices.Sort(seamT)
	slices.Sort(directT)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(seamT[0], "seam-min-ns/op")
	b.ReportMetric(directT[0], "direct-min-ns/op")
	b.ReportMetric(seamT[len(seamT)/2], "seam-med-ns/op")
	b.ReportMetric(directT[len(directT)/2], "direct-med-ns/op")
}

func BenchmarkTokenTryPutTake(b *testing.B) {
	tk := seam.NewToken("")
	pair(b, func() {
		tk.TryPut()
		tk.Take()
	}, directTryPutTake())
}

func BenchmarkTokenPutTakeCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tk := seam.NewToken("")
	c := make(chan struct{}, 1)
	pair(b, func() {
		if tk.Put(ctx) != nil || tk.TakeCtx(ctx) != nil {
			b.Fatal("ctx done")
		}
	}, func() {
		select {
		case c <- struct{}{}:
		case <-ctx.Done():
			b.Fatal("ctx done")
		}
		select {
		case <-c:
		case <-ctx.Done():
			b.Fatal("ctx done")
		}
	})
}

func BenchmarkSemaPostWait(b *testing.B) {
	var s seam.Sema
	s.Init("")
	pair(b, func() {
		s.TryPost()
		s.Wait()
	}, directTryPutTake())
}

// directTryPutTake is the direct operation TryPut+Take and TryPost+Wait
// stand for: a non-blocking send into a one-slot channel, then a receive.
func directTryPutTake() func() {
	c := make(chan struct{}, 1)
	return func() {
		select {
		case c <- struct{}{}:
		default:
		}
		<-c
	}
}
