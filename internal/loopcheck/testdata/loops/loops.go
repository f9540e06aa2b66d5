// Package loops holds the loops that TestFixture expects: each line that
// ends in "want" is a loop the checker must report, and no other.
package loops

import (
	"runtime"
	"sync/atomic"
	"time"
)

var (
	quit  atomic.Bool
	word  atomic.Uint32
	count int64
	sink  [][]byte
)

// poll inlines; its slow path is a call only when asked to stop, as
// safepoint.Poll's is.
func poll() {
	if word.Load() != 0 {
		slow()
	}
}

//go:noinline
func slow() { nonLeaf() }

// leaf is never inlined, but calls nothing: the compiler drops its stack
// check, so a call of it is no preemption point.
//
//go:noinline
func leaf(n int) int { return n*3 + 1 }

//go:noinline
func nonLeaf() { slowLeaf() }

//go:noinline
func slowLeaf() {}

// yield inlines, and what it inlines calls nonLeaf every time.
func yield() { nonLeaf() }

func Bad() {
	for !quit.Load() { // want
		poll()
	}
	for { // want
		if word.Load() == 1 {
			break
		}
	}
	n := 0
	for !quit.Load() { // want
		n += leaf(n)
	}
	for !quit.Load() { // want
		atomic.AddInt64(&count, 1)
	}
	for !quit.Load() { // want
		buf := make([]byte, 8)
		buf[0] = 1
	}
	go func() {
		for !quit.Load() { // want
			poll()
		}
	}()
	for i := 0; !quit.Load(); i++ { // want
		poll()
	}
	// loopcheck:ok
	for !quit.Load() { // want (an exemption without a reason)
		poll()
	}
}

type stepper interface{ Step() }

func Good(ch chan int, s stepper) {
	for !quit.Load() {
		runtime.Gosched()
	}
	for !quit.Load() {
		time.Sleep(time.Microsecond)
	}
	for !quit.Load() {
		poll()
		nonLeaf()
	}
	for {
		select {
		case <-ch:
			return
		default:
		}
	}
	for !quit.Load() {
		sink = append(sink, make([]byte, 8))
	}
	for i := 0; i < 100; i++ {
		count += int64(i)
	}
	x := 1 << 20
	for x > 1 {
		x /= 2
	}
	for !quit.Load() { // loopcheck:ok the fixture's exemption, with its reason
		poll()
	}
	// loopcheck:ok the comment may stand on the line above the loop too
	for !quit.Load() {
		poll()
	}
	for !quit.Load() {
		yield()
	}
	for v := range ch {
		count += int64(v)
	}
	for !quit.Load() {
		s.Step()
	}
	for !quit.Load() {
		ch <- 1
	}
	for !quit.Load() {
		func() { nonLeaf() }()
	}
	n := 0
	for !quit.Load() {
		// A call in a branch counts: loops call now and then (every
		// 1,024 steps, say) far more often than only when another
		// goroutine asks them to.
		if n%1024 == 0 {
			nonLeaf()
		}
		for j := 0; j < 8; j++ {
			n += j
		}
		poll()
	}
}
