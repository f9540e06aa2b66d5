package safepoint_test

import (
	"context"
	"fmt"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// An interpreter polls at its backward branches and declares its blocking
// calls, so that a stop neither waits for a long loop to end nor for a
// sleep to return.
func ExamplePoll() {
	w, err := suspend.NewWorld()
	if err != nil {
		fmt.Println(err)
		return
	}
	attached := make(chan *suspend.Thread)
	quit := make(chan struct{})
	done := make(chan int)
	go func() {
		th, err := w.Attach("interpreter")
		if err != nil {
			fmt.Println(err)
			close(attached)
			return
		}
		attached <- th
		steps := 0
		for pc := 0; ; pc++ {
			safepoint.Poll(th) // a backward branch: a safepoint
			steps++
			if pc%100_000 == 0 {
				select {
				case <-quit:
					if err := th.Detach(); err != nil {
						fmt.Println(err)
					}
					done <- steps
					return
				default:
				}
				// A native call that may block does not delay a stop.
				safepoint.Blocking(th, func() { time.Sleep(time.Microsecond) })
			}
		}
	}()
	th := <-attached
	if th == nil {
		return
	}
	for i := 0; i < 3; i++ {
		s, err := w.Stop(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		// The thread is parked at a poll, or inside its blocking
		// region (where it touches nothing the runtime owns).
		for _, info := range s.Threads() {
			fmt.Printf("stop %d: %s stopped: %v\n", i, info.Name, info.Parked || info.InSafeRegion)
		}
		if err := s.Restart(); err != nil {
			fmt.Println(err)
			return
		}
	}
	close(quit)
	fmt.Println("the interpreter ran on after the restarts:", <-done > 0)
	if err := w.Close(); err != nil { // the interpreter has detached
		fmt.Println(err)
	}
	// Output:
	// stop 0: interpreter stopped: true
	// stop 1: interpreter stopped: true
	// stop 2: interpreter stopped: true
	// the interpreter ran on after the restarts: true
}
