package suspend_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/internal/testenv"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

var policies = []suspend.Policy{suspend.Coop, suspend.Hybrid, suspend.Preemptive}

// newWorld returns a world for the length of the test (see
// suspendtest.NewWorld): skipped where its policy cannot run, closed at
// the end, and the test fails if a thread was left attached.
func newWorld(t testing.TB, opts ...suspend.Option) *suspend.World {
	t.Helper()
	return suspendtest.NewWorld(t, opts...)
}

// pollers is a set of attached goroutines that poll in a loop and count
// their progress after each poll.
type pollers struct {
	w        *suspend.World
	progress []atomic.Int64
	threads  []*suspend.Thread
	quit     atomic.Bool
	wedged   atomic.Bool // see stop
	wg       sync.WaitGroup
}

func startPollers(t testing.TB, w *suspend.World, n int) *pollers {
	t.Helper()
	p := &pollers{w: w, progress: make([]atomic.Int64, n), threads: make([]*suspend.Thread, n)}
	ready := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			th, err := w.Attach("poller-" + strconv.Itoa(i))
			if err != nil {
				t.Error(err)
				ready <- struct{}{}
				return
			}
			p.threads[i] = th
			ready <- struct{}{}
			for !p.quit.Load() {
				safepoint.Poll(th)
				p.progress[i].Add(1)
				testenv.Preemptible() // a guest loop makes calls
			}
			if err := th.Detach(); err != nil {
				t.Error(err)
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-ready
	}
	return p
}

func (p *pollers) snapshot() []int64 {
	out := make([]int64, len(p.progress))
	for i := range p.progress {
		out[i] = p.progress[i].Load()
	}
	return out
}

// stop makes the pollers detach and waits for them, unless a test found
// their world wedged: then they would wait for it forever, and are left.
func (p *pollers) stop() {
	p.quit.Store(true)
	if !p.wedged.Load() {
		p.wg.Wait()
	}
}

// waitUntil polls cond until it holds or the generous deadline passes.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// checkNoLeak fails if goroutines started during the test outlive it.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(),
					buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func stopWorld(t testing.TB, w *suspend.World, opts ...suspend.StopOption) *suspend.Stopped {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := w.Stop(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dump returns w's dump.
func dump(w *suspend.World) string {
	var b strings.Builder
	if err := w.Dump(&b); err != nil {
		panic(err) // a strings.Builder does not fail
	}
	return b.String()
}

// waitBlocking waits until th's word says it is in a blocking region
// (a reader enters one just before its system call).
func waitBlocking(t *testing.T, th *suspend.Thread) {
	waitUntil(t, th.Name()+" is blocking", func() bool { return th.Word().State() == threadstate.Blocking })
}

// waitInWrapper waits until th is inside a wrapped system call, as its
// line of the world's dump says: past the blocking region's entry, where
// an asynchronous suspend signals it rather than counting it as stopped
// in its region.
func waitInWrapper(t *testing.T, w *suspend.World, th *suspend.Thread) {
	t.Helper()
	prefix := fmt.Sprintf("  thread %q id %d ", th.Name(), th.ID())
	waitUntil(t, th.Name()+" is in a wrapped system call", func() bool {
		for line := range strings.Lines(dump(w)) {
			if strings.HasPrefix(line, prefix) {
				return strings.Contains(line, "in a wrapped system call")
			}
		}
		return false
	})
}
