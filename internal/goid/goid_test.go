package goid

import (
	"sync"
	"testing"
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
