package coroutine_test

import (
	"context"
	"fmt"

	"github.com/coopsuspend/coopsuspend/coroutine"
)

func ExampleNew() {
	// A generator: each Resume passes a step, each Yield hands back the
	// running total.
	c := coroutine.New(func(s *coroutine.Suspender[int, int], step int) string {
		total := 0
		for i := 0; i < 3; i++ {
			total += step
			step = s.Yield(total)
		}
		return fmt.Sprint("done at ", total)
	})
	for _, step := range []int{1, 10, 100, 0} {
		st, _ := c.Resume(step)
		if st.Status == coroutine.Complete {
			fmt.Println(st.Status, st.Result)
		} else {
			fmt.Println(st.Status, st.Yield)
		}
	}
	// Output:
	// Suspended 1
	// Suspended 11
	// Suspended 111
	// Complete done at 111
}

func ExampleScheduler() {
	// One runner keeps one queue's strict order: the coroutines take
	// turns. With more runners (the default is GOMAXPROCS) they run side
	// by side.
	s := coroutine.NewScheduler(coroutine.WithRunners(1))
	for _, name := range []string{"a", "b"} {
		s.Submit(func(su *coroutine.Task) any {
			for i := 1; i <= 2; i++ {
				fmt.Println(name, i)
				su.Yield(struct{}{}) // let the other run
			}
			return name + " done"
		})
	}
	if err := s.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	st, _ := s.Result(1)
	fmt.Println(st.Result)
	// Output:
	// a 1
	// b 1
	// a 2
	// b 2
	// a done
}
