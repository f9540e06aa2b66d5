package readme_test

import (
	"context"
	"log"
	"net"
	"time"
)

// README: Using it, imports
import (
	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// README: end

// The snippets are compiled, not run: they show code from several
// goroutines (a guest's, a collector's, a debugger's) side by side.
var _ = usingIt

// VM stands for the embedder's interpreter state.
type VM struct{}

// usingIt holds the README's "Using it" snippet, verbatim between the
// markers (TestSnippetsAreInTheREADME), so that the compiler checks it.
// The parameters and stubs stand for the embedder's own code.
func usingIt(ctx context.Context, program []int, conn net.Conn, buf []byte) error {
	var n int
	isBackwardBranch := func(pc int) bool { return pc%8 == 0 }
	vm := &VM{}
	collect := func(*VM) {}
	inspect := func(*suspend.Thread) {}
	done := func() bool { return true }
	step := func() {}

	// README: Using it
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop)) // or COOPSUSPEND_POLICY=coop|hybrid|preemptive
	if err != nil {
		return err // an invalid policy; hybrid/preemptive where asynchronous suspension cannot work
	}
	defer func() {
		if err := w.Close(); err != nil { // ErrInUse while threads are attached
			log.Printf("close: %v", err)
		}
	}()

	// On each guest thread's goroutine:
	th, err := w.Attach("guest-1", suspend.WithValue(vm)) // the value: what the collector finds from the thread
	if err != nil {
		return err // e.g. ErrAttached: this goroutine is a thread already
	}
	defer func() {
		if err := th.Detach(); err != nil {
			log.Printf("detach: %v", err)
		}
	}()
	for pc := range program {
		if isBackwardBranch(pc) {
			safepoint.Poll(th) // a load and a compare; parks here while the world is stopped
		}
		// ...
		safepoint.Blocking(th, func() { n, err = conn.Read(buf) }) // does not delay a stop
	}

	// In the runtime's collector:
	s, err := w.Stop(ctx) // every guest parked at a poll or inside a blocking region
	if err != nil {
		return err // e.g. *suspend.StopTimeoutError: a guest did not poll in time; every request was withdrawn
	}
	defer func() {
		if err := s.Restart(); err != nil {
			log.Printf("restart: %v", err)
		}
	}()
	for _, t := range s.Threads() {
		collect(t.Thread.Value().(*VM)) // each guest's state, safe to read until Restart
	}

	// In a debugger: pause one thread.
	if err := w.SuspendThread(ctx, th); err != nil {
		return err
	}
	inspect(th)
	if err := w.ResumeThread(th); err != nil {
		return err
	}

	// Guest threads as coroutines on GOMAXPROCS runners, time-sliced by a monitor, stopped with the
	// world: a stop waits for the runners, not for every guest.
	m := monitor.New(monitor.WithSlice(10 * time.Millisecond))
	sched := coroutine.NewScheduler(coroutine.WithWorld(w), coroutine.WithMonitor(m))
	sched.Submit(func(s *coroutine.Task) any {
		for !done() {
			step()
			s.Poll() // preempted here when the slice runs out; stopped here by w.Stop
		}
		return nil
	})
	if err := sched.Run(ctx); err != nil {
		return err
	}
	// README: end

	_ = n
	return nil
}
