package seam_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/seam"
)

// TestSemaHoldsOnePost: a post before the wait is kept for it, a second
// post before the wait fails, and after the wait the semaphore is empty
// again.
func TestSemaHoldsOnePost(t *testing.T) {
	var s seam.Sema
	s.Init("resume")
	if !s.TryPost() {
		t.Fatal("TryPost on an empty semaphore failed")
	}
	if s.TryPost() {
		t.Fatal("a second TryPost before the Wait succeeded")
	}
	s.Wait() // must not block: the post is there
	if !s.TryPost() {
		t.Fatal("TryPost after the Wait took the post failed")
	}
	s.Wait()
}

// TestSemaWakesAWaiter: two goroutines hand a counter back and forth
// through two semaphores, so each Wait meets a post that came before it
// or after it, as the scheduler has it. Every wait must end, and (under
// -race) a post must order what the poster wrote before it with what
// the waiter reads after.
func TestSemaWakesAWaiter(t *testing.T) {
	var ping, pong seam.Sema
	ping.Init("ping")
	pong.Init("pong")
	rounds := 20000
	if testing.Short() {
		rounds = 2000
	}
	counter := 0 // written by one side at a time, handed over by the posts
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range rounds {
			ping.Wait()
			if counter != 2*i+1 {
				t.Errorf("round %d: the waiter read %d, want %d", i, counter, 2*i+1)
			}
			counter++
			if !pong.TryPost() {
				t.Errorf("round %d: pong was posted twice", i)
				return
			}
		}
	})
	for i := range rounds {
		counter++
		if !ping.TryPost() {
			t.Fatalf("round %d: ping was posted twice", i)
		}
		pong.Wait()
		if counter != 2*i+2 {
			t.Fatalf("round %d: read %d, want %d", i, counter, 2*i+2)
		}
	}
	wg.Wait()
}

// TestSemaFirstUse: a Sema's channel is made by whichever side uses it
// first. With a fresh Sema each round, the first post and the first wait
// race; the waiter must get the post whichever made the channel (a side
// that used a channel of its own would wait forever).
func TestSemaFirstUse(t *testing.T) {
	rounds := 20000
	if testing.Short() {
		rounds = 2000
	}
	for i := range rounds {
		s := new(seam.Sema)
		s.Init("resume")
		posted := make(chan bool)
		go func() { posted <- s.TryPost() }()
		if i%2 == 0 {
			runtime.Gosched() // let the post go first, often
		}
		s.Wait()
		if !<-posted {
			t.Fatalf("round %d: the first post failed", i)
		}
	}
}
