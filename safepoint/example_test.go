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
	w := suspend.NewWorld()
	done := make(chan int)
	go func() {
		th, err := w.Attach("interpreter")
		if err != nil {
			fmt.Println(err)
			done <- 0
			return
		}
		defer th.Detach()
		sum := 0
		for pc := 0; pc < 1_000_000; pc++ {
			sum += pc & 1
			safepoint.Poll(th) // a backward branch: a safepoint
			if pc == 500_000 {
				safepoint.Blocking(th, func() { time.Sleep(time.Millisecond) })
			}
		}
		done <- sum
	}()
	for i := 0; i < 3; i++ {
		s, err := w.Stop(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		s.Restart()
	}
	fmt.Println(<-done)
	// Output:
	// 500000
}
