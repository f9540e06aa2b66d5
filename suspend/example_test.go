package suspend_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// interpret stands for the guest code a thread runs between two polls. A
// guest loop should make a real call like this one (an interpreter's
// instruction dispatch does): with GODEBUG=asyncpreemptoff=1, Go's
// collector can stop a goroutine only at a call, and a loop whose only
// safepoint is the inlined Poll would hold up every garbage collection.
// A real interpreter's step is too big to inline; this stand-in says so.
//
//go:noinline
func interpret(steps *atomic.Int64, depth int) {
	steps.Add(1)
	if depth > 0 {
		interpret(steps, depth-1)
	}
}

// A runtime's collector stops its guest threads, works while nothing
// moves, and restarts them.
func ExampleWorld_Stop() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	var steps atomic.Int64
	var quit atomic.Bool
	var wg sync.WaitGroup
	attached := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := w.Attach(fmt.Sprint("guest-", i))
			if err != nil {
				fmt.Println(err)
				attached <- struct{}{}
				return
			}
			attached <- struct{}{}
			for !quit.Load() {
				interpret(&steps, 8) // the guest's work: a real call, as an interpreter's step is
				safepoint.Poll(th)   // parks here while the world is stopped
			}
			if err := th.Detach(); err != nil {
				fmt.Println(err)
			}
		}()
	}
	<-attached
	<-attached

	s, err := w.Stop(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	before := steps.Load()
	for _, info := range s.Threads() {
		fmt.Println(info.Word.State(), info.Parked)
	}
	fmt.Println("moved while stopped:", steps.Load() != before)
	if err := s.Restart(); err != nil {
		fmt.Println(err)
	}

	quit.Store(true)
	wg.Wait()
	if err := w.Close(); err != nil { // every guest has detached
		fmt.Println(err)
	}
	// Output:
	// SELF_SUSPENDED true
	// SELF_SUSPENDED true
	// moved while stopped: false
}

// A debugger pauses one thread and lets the others run.
func ExampleWorld_SuspendThread() {
	w, err := suspend.NewWorld()
	if err != nil {
		fmt.Println(err)
		return
	}
	ready, release, done := make(chan *suspend.Thread), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("guest")
		if err != nil {
			fmt.Println(err)
			close(ready)
			return
		}
		// A blocking call: the thread counts as suspended at once, and
		// parks if the call returns while it is held.
		safepoint.Blocking(th, func() {
			ready <- th
			<-release
		})
		if err := th.Detach(); err != nil {
			fmt.Println(err)
		}
	}()
	th := <-ready
	if th == nil {
		return
	}
	if err := w.SuspendThread(context.Background(), th); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(th.Word())
	if err := w.ResumeThread(th); err != nil {
		fmt.Println(err)
	}
	fmt.Println(th.Word())
	close(release)
	<-done
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// BLOCKING_SUSPEND_REQUESTED n=1 (0x109)
	// BLOCKING (0x6)
}

// The most common embedding: a guest thread runs out of memory and
// collects garbage itself. Its stop says By(self): the other guests stop,
// the collecting thread goes on, and nothing waits for it to poll.
func ExampleBy() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	var quit atomic.Bool
	var steps atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{})
	wg.Add(1)
	go func() { // another guest, polling in its loop
		defer wg.Done()
		th, err := w.Attach("mutator")
		if err != nil {
			fmt.Println(err)
			close(started)
			return
		}
		close(started)
		for !quit.Load() {
			interpret(&steps, 8) // the guest's work
			safepoint.Poll(th)
		}
		if err := th.Detach(); err != nil {
			fmt.Println(err)
		}
	}()
	<-started

	self, err := w.Attach("allocator") // this goroutine is a guest too
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := w.Stop(context.Background(), suspend.By(self))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, info := range s.Threads() { // every thread but self
		fmt.Println(info.Name, info.Word.State())
	}
	fmt.Println("the collector runs on", self.Name(), self.Word().State())
	if err := s.Restart(); err != nil {
		fmt.Println(err)
	}

	quit.Store(true)
	wg.Wait()
	if err := self.Detach(); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// mutator SELF_SUSPENDED
	// the collector runs on allocator RUNNING
}
