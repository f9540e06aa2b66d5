package monitor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/monitor"
)

// Two coroutines on one scheduler share its thread. The first computes
// until it sees that the second has started, which can only happen if
// something takes the thread from it: the monitor ends its 2 ms slice at
// its next Poll, without the body ever yielding by hand.
func Example() {
	m := monitor.New(monitor.WithSlice(2 * time.Millisecond))
	defer m.Stop()
	// One runner runs its coroutines one at a time, on the goroutine
	// that calls Run, so these variables need no lock; and b can run
	// only once a has been preempted.
	sched := coroutine.NewScheduler(coroutine.WithMonitor(m), coroutine.WithRunners(1))
	var bStarted, aPreempted bool
	sched.Submit(func(s *coroutine.Task) any {
		for giveUp := time.Now().Add(5 * time.Second); !bStarted && time.Now().Before(giveUp); {
			s.Poll() // the safepoint where a slice can end
		}
		aPreempted = bStarted
		return nil
	}, coroutine.WithName("a"))
	sched.Submit(func(s *coroutine.Task) any {
		bStarted = true
		return nil
	}, coroutine.WithName("b"))
	if err := sched.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("a was preempted and b ran:", aPreempted)
	// Output: a was preempted and b ran: true
}
