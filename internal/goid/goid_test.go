package goid

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCurrentTellsGoroutinesApart(t *testing.T) {
	const n = 50
	ids := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = Current()
			if again := Current(); again != ids[i] {
				t.Errorf("goroutine %d read %d, then %d", i, ids[i], again)
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{Current(): true}
	for i, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("goroutine %d got id %d, zero or taken by another", i, id)
		}
		seen[id] = true
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]uint64{
		"goroutine 1 [running]:\n": 1, "goroutine 123456789 [chan receive]:": 123456789,
		"goroutine x [running]": 0, "gorout": 0, "goroutine 0 [idle]": 0, "": 0,
	} {
		got, ok := parse([]byte(in))
		if ok != (want != 0) || got != want {
			t.Errorf("parse(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

// TestAlive: Alive lists every goroutine that has not ended, among many
// whose traces are deep enough to outgrow Alive's first buffer, and never
// one that has.
func TestAlive(t *testing.T) {
	const n = 500 // each about 40 frames deep: some 3 MB of trace
	ids := make(chan uint64, n)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blockDeep(40, func() {
				ids <- Current()
				<-release
			})
		}()
	}
	waiting := make([]uint64, 0, n)
	for range n {
		waiting = append(waiting, <-ids)
	}
	alive := Alive()
	if !alive.Has(Current()) {
		t.Error("the calling goroutine is not alive")
	}
	for _, id := range waiting {
		if !alive.Has(id) {
			t.Fatalf("goroutine %d waits on a channel but is not alive (%d listed)", id, alive.Len())
		}
	}
	close(release)
	wg.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		alive = Alive()
		ended := 0
		for _, id := range waiting {
			if !alive.Has(id) {
				ended++
			}
		}
		if ended == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d goroutines that returned are still alive after 10 s", n-ended, n)
		}
	}
}

// BenchmarkCurrent times Current: the cost Attach pays for its
// goroutine's number.
func BenchmarkCurrent(b *testing.B) {
	for b.Loop() {
		Current()
	}
}

// BenchmarkAlive times Alive with 1,000 other goroutines blocked: the
// cost a stop that gave up, or a Close that found threads attached, pays
// to tell which threads' goroutines have ended.
func BenchmarkAlive(b *testing.B) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
		}()
	}
	defer func() { close(release); wg.Wait() }()
	for b.Loop() {
		if Alive().Len() < 1000 {
			b.Fatal("Alive missed goroutines")
		}
	}
}

// blockDeep calls wait depth calls deep.
//
//go:noinline
func blockDeep(depth int, wait func()) {
	if depth == 0 {
		wait()
		return
	}
	blockDeep(depth-1, wait)
}

// TestG: G is the same on one goroutine, across calls, a deep stack
// (which moves the stack) and a yield, and differs between goroutines
// alive at the same time.
func TestG(t *testing.T) {
	const n = 100
	tokens := make([]uintptr, n)
	var wg, ready sync.WaitGroup
	release := make(chan struct{})
	for i := range n {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			g := G()
			if deep(200, G) != g {
				t.Errorf("goroutine %d: G changed across a stack growth", i)
			}
			runtime.Gosched()
			if G() != g {
				t.Errorf("goroutine %d: G changed across a yield", i)
			}
			tokens[i] = g
			ready.Done()
			<-release // all alive at once
		}()
	}
	ready.Wait()
	close(release)
	wg.Wait()
	seen := map[uintptr]int{}
	for i, g := range tokens {
		if j, dup := seen[g]; dup {
			t.Fatalf("goroutines %d and %d, alive at once, have the same token %#x", j, i, g)
		}
		seen[g] = i
	}
	if G() == 0 {
		t.Fatal("G is 0")
	}
}

// deep calls f at the bottom of a recursion that grows the stack.
func deep(n int, f func() uintptr) uintptr {
	var pad [64]byte
	if n == 0 {
		return f() + uintptr(pad[0])
	}
	return deep(n-1, f)
}

func BenchmarkG(b *testing.B) {
	for b.Loop() {
		G()
	}
}

// TestStackAndFrames: Alive keeps each goroutine's trace, and Frames
// reads its calls, innermost first, with their files and lines.
func TestStackAndFrames(t *testing.T) {
	ids := make(chan uint64)
	release := make(chan struct{})
	go func() {
		ids <- Current()
		parkedHere(release)
	}()
	id := <-ids
	defer close(release)
	var frames []Frame
	for range 1000 { // until the goroutine is parked in parkedHere
		frames = Frames(Alive().Stack(id))
		if slices.ContainsFunc(frames, func(f Frame) bool { return strings.HasSuffix(f.Func, ".parkedHere") }) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	i := slices.IndexFunc(frames, func(f Frame) bool { return strings.HasSuffix(f.Func, ".parkedHere") })
	if i < 0 {
		t.Fatalf("no parkedHere frame in %+v", frames)
	}
	if f := frames[i]; !strings.HasSuffix(f.File, "goid_test.go") || f.Line == 0 {
		t.Errorf("parkedHere's frame %+v: want goid_test.go and a line", f)
	}
	if j := slices.IndexFunc(frames, func(f Frame) bool { return strings.Contains(f.Func, "TestStackAndFrames") }); j != i+1 {
		t.Errorf("frames %+v: want parkedHere's caller right after it", frames)
	}
	if Alive().Stack(1<<62) != "" {
		t.Error("a goroutine that never was has a stack")
	}
}

//go:noinline
func parkedHere(release chan struct{}) { <-release }
