// Package goid tells goroutines apart, for the checks that need to know
// which goroutine is calling (an attach of a goroutine that is already
// attached, thread-side calls made from the wrong goroutine in the
// coopcheck build) and whether the goroutine that attached a thread has
// ended.
//
// Go gives a goroutine no identity on purpose; the only stable one it
// shows is the number in the header of runtime.Stack's trace
// ("goroutine 18 [running]:"), which is never reused while the process
// lives. Reading it costs a stack trace of the calling goroutine (1.7 µs,
// BenchmarkCurrent), so it is read on slow paths only: Attach, and every
// thread-side call of a coopcheck build. Alive traces every goroutine,
// for a stop that gave up and for Close.
package goid

import (
	"bytes"
	"runtime"
)

// Current returns the calling goroutine's number.
func Current() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	id, ok := parse(buf[:n])
	if !ok {
		panic("coopsuspend: internal error: cannot read the goroutine number from " + string(buf[:n]))
	}
	return id
}

// parse reads the number from a trace header "goroutine N [...".
func parse(b []byte) (uint64, bool) {
	const prefix = "goroutine "
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0, false
	}
	var id uint64
	digits := 0
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
		digits++
	}
	return id, digits > 0 && id != 0
}

// Set is a set of goroutine numbers.
type Set struct{ m map[uint64]struct{} }

// Has reports whether id is in the set.
func (s Set) Has(id uint64) bool {
	_, ok := s.m[id]
	return ok
}

// Len returns the number of goroutines in the set.
func (s Set) Len() int { return len(s.m) }

// Alive returns the numbers of the goroutines that have not ended, read
// from a trace of them all (runtime.Stack with all set). A number that is
// missing belongs to a goroutine that has ended for good, since numbers
// are never reused. The trace stops the world while it is written, and
// Alive took 1.4 ms with 1,000 goroutines (BenchmarkAlive), so it is for
// the slow paths only: a stop that gave up, a Close that found threads
// still attached.
func Alive() Set {
	// Each try traces every goroutine again: size the first for about
	// 1 KB per goroutine, more than a goroutine a few calls deep takes.
	buf := make([]byte, max(64<<10, runtime.NumGoroutine()<<10))
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	s := Set{m: make(map[uint64]struct{})}
	// Each goroutine's trace begins with its header line, after a blank
	// line for every goroutine but the first.
	for line := range bytes.Lines(buf) {
		if id, ok := parse(line); ok {
			s.m[id] = struct{}{}
		}
	}
	return s
}
