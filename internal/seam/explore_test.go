//go:build coopmodel

package seam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The explorer's own tests: small programs whose bugs need a known
// number of preemptions, to show that the search finds each one at that
// bound and not below, that a failure replays, and that blocking and the
// timer are explored.

// lostUpdate: two procs increment a counter with a load and a store.
// The lost update needs one preemption between a load and its store.
func lostUpdate(r *Run) func() error {
	var v Int64
	for i := range 2 {
		r.Go(fmt.Sprint("inc", i), func() { x := v.Load(); v.Store(x + 1) })
	}
	return func() error {
		if got := v.Load(); got != 2 {
			return fmt.Errorf("lost update: counter is %d", got)
		}
		return nil
	}
}

func TestExploreFindsLostUpdateAtBoundOne(t *testing.T) {
	st, f := Explore(lostUpdate, Config{Bound: 0})
	if f != nil {
		t.Fatalf("bound 0 found a failure: %v", f)
	}
	if !st.Exhausted || st.DFS != 2 {
		t.Fatalf("bound 0: %v; want the 2 executions without preemption, exhausted", st)
	}
	st, f = Explore(lostUpdate, Config{Bound: 1})
	if f == nil {
		t.Fatalf("bound 1 missed the lost update: %v", st)
	}
	if f.Preemptions != 1 || !strings.Contains(f.Err.Error(), "lost update") {
		t.Fatalf("found %v with %d preemptions", f.Err, f.Preemptions)
	}
	if g := Replay(lostUpdate, f.Schedule); g == nil || g.Err.Error() != f.Err.Error() {
		t.Fatalf("replay of %q: %v", f.Schedule, g)
	}
	if g := Replay(lostUpdate, "0*9"); g == nil || !strings.Contains(g.Err.Error(), "replay") {
		t.Fatalf("a schedule that is not the program's replayed: %v", g)
	}
}

// TestExploreCountsWithinBound: the search runs no schedule twice, and
// reaches every order of two procs' two steps within two preemptions.
func TestExploreCountsWithinBound(t *testing.T) {
	seen, schedules := map[string]bool{}, map[string]bool{}
	prog := func(r *Run) func() error {
		var order []string
		for _, name := range []string{"a", "b"} {
			r.Go(name, func() {
				for i := range 2 {
					Point()
					order = append(order, fmt.Sprint(name, i))
				}
			})
		}
		return func() error {
			seen[strings.Join(order, ",")] = true
			if s := encode(r.trace); schedules[s] {
				return fmt.Errorf("schedule %s run twice", s)
			} else {
				schedules[s] = true
			}
			return nil
		}
	}
	// All 6 interleavings of a0 a1 with b0 b1 are reachable with at
	// most 2 preemptions (a0 b0 a1 b1 needs 2).
	st, f := Explore(prog, Config{Bound: 2})
	if f != nil {
		t.Fatal(f)
	}
	if len(seen) != 6 || !st.Exhausted || len(schedules) != st.DFS {
		t.Fatalf("%v; saw %d distinct orders, want 6", st, len(seen))
	}
}

// abba: two procs take two locks in opposite orders.
func abba(r *Run) func() error {
	var a, b RWMutex
	var shared int
	r.Go("ab", func() { a.Lock(); b.Lock(); shared++; b.Unlock(); a.Unlock() })
	r.Go("ba", func() { b.Lock(); a.Lock(); shared++; a.Unlock(); b.Unlock() })
	return nil
}

func TestExploreFindsDeadlock(t *testing.T) {
	_, f := Explore(abba, Config{Bound: 1})
	if f == nil || !strings.Contains(f.Err.Error(), "deadlock") {
		t.Fatalf("want a deadlock, got %v", f)
	}
	if !strings.Contains(f.Err.Error(), "RWMutex.Lock") {
		t.Fatalf("the deadlock does not say where: %v", f.Err)
	}
}

// lostWakeup: a waiter checks a flag, then sleeps on a token; the waker
// sets the flag and posts only if it saw the waiter asleep (a broken
// protocol: the check and the sleep are not atomic).
func lostWakeup(r *Run) func() error {
	var flag, sleeping Uint32
	tok := NewToken("wake")
	r.Go("waiter", func() {
		if flag.Load() == 0 {
			sleeping.Store(1)
			tok.Take()
		}
	})
	r.Go("waker", func() {
		flag.Store(1)
		if sleeping.Load() == 1 {
			tok.TryPut()
		}
	})
	return nil
}

func TestExploreFindsLostWakeup(t *testing.T) {
	_, f := Explore(lostWakeup, Config{Bound: 2})
	if f == nil || !strings.Contains(f.Err.Error(), "Take(wake)") {
		t.Fatalf("want a deadlock in Take(wake), got %v", f)
	}
}

// TestExploreTimer: a wait on a token with a context that the run's
// timer may cancel ends both ways across the exploration, and both
// cases of a select with two ready channels are taken.
func TestExploreTimer(t *testing.T) {
	outcomes := map[string]bool{}
	prog := func(r *Run) func() error {
		ctx := r.TimerContext(context.Background(), context.Canceled)
		tok := NewToken("kick")
		var err error
		r.Go("waiter", func() { err = tok.TakeCtx(ctx) })
		r.Go("poster", func() { tok.TryPut() })
		return func() error {
			outcomes[fmt.Sprintf("err=%v fired=%v", err, r.TimerFired())] = true
			if err == nil && len(r.Tokens()) == 1 && r.Tokens()[0].Full {
				return errors.New("the waiter took nothing but the token is gone")
			}
			return nil
		}
	}
	st, f := Explore(prog, Config{Bound: 2, PCTRuns: 50, PCTDepth: 2})
	if f != nil {
		t.Fatal(f)
	}
	for _, want := range []string{"err=<nil> fired=false", "err=<nil> fired=true", "err=context canceled fired=true"} {
		if !outcomes[want] {
			t.Errorf("outcome %q never seen (%v): %v", want, st, outcomes)
		}
	}
}

// TestPCTFindsLostUpdate: the randomized phase alone finds the lost
// update (depth 2: one priority change).
func TestPCTFindsLostUpdate(t *testing.T) {
	_, f := Explore(lostUpdate, Config{Bound: 0, PCTRuns: 200, PCTDepth: 2, Seed: 1})
	if f == nil || !strings.HasPrefix(f.Phase, "pct") {
		t.Fatalf("PCT missed the lost update: %v", f)
	}
	if g := Replay(lostUpdate, f.Schedule); g == nil {
		t.Fatalf("PCT's schedule %q does not replay the failure", f.Schedule)
	}
}

func TestScheduleEncoding(t *testing.T) {
	in := []int{0, 0, 0, 1, timerID, 2, 2}
	s := encode(in)
	if s != "0*3.1.t.2*2" {
		t.Fatalf("encode: %q", s)
	}
	out, err := decode(s)
	if err != nil || fmt.Sprint(out) != fmt.Sprint(in) {
		t.Fatalf("decode: %v %v", out, err)
	}
}
