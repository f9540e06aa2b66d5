package testenv

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestAsyncPreemptOff(t *testing.T) {
	for env, want := range map[string]bool{
		"": false, "asyncpreemptoff=1": true, "gctrace=1,asyncpreemptoff=1": true,
		"asyncpreemptoff=0": false, "asyncpreemptoff=1,asyncpreemptoff=0": false,
	} {
		t.Setenv("GODEBUG", env)
		if got := AsyncPreemptOff(); got != want {
			t.Errorf("GODEBUG=%q: AsyncPreemptOff() = %v, want %v", env, got, want)
		}
	}
}

// TestPreemptibleYields: a loop that calls Preemptible lets another
// goroutine run on a single P, whatever GODEBUG says (the scheduler's
// request is served at the call's stack check).
func TestPreemptibleYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			Preemptible()
		}
	}()
	time.Sleep(time.Millisecond) // the spinner holds the only P now
	stop.Store(true)             // runs only once the spinner was preempted
	<-done
}
