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
	"strconv"
	"strings"
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

// Set is a set of goroutine numbers, with what the trace said of each.
type Set struct{ m map[uint64][]byte }

// Has reports whether id is in the set.
func (s Set) Has(id uint64) bool {
	_, ok := s.m[id]
	return ok
}

// Stack returns goroutine id's trace: its header line ("goroutine 18
// [running]:") and its frames, two lines each (the function, then its
// file and line), as runtime.Stack wrote them; "" when id is not in the
// set.
func (s Set) Stack(id uint64) string { return string(s.m[id]) }

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
	s := Set{m: make(map[uint64][]byte)}
	// Each goroutine's trace begins with its header line, after a blank
	// line for every goroutine but the first.
	for trace := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if id, ok := parse(trace); ok {
			s.m[id] = bytes.TrimSpace(trace)
		}
	}
	return s
}

// Frame is one call in a goroutine's trace.
type Frame struct {
	Func string // the function, with its package path: "main.(*vm).run"
	File string
	Line int
}

// Frames parses a goroutine's trace (Set.Stack) into its calls, innermost
// first, up to the goroutine's creation.
func Frames(stack string) []Frame {
	lines := strings.Split(stack, "\n")
	var frames []Frame
	for i := 1; i+1 < len(lines); i++ {
		fn, loc := lines[i], lines[i+1]
		if strings.HasPrefix(fn, "created by ") || !strings.HasPrefix(loc, "\t") {
			continue
		}
		i++
		if j := strings.LastIndexByte(fn, '('); j > 0 {
			fn = fn[:j]
		}
		loc = strings.TrimSpace(loc)
		if j := strings.LastIndex(loc, " +0x"); j > 0 {
			loc = loc[:j]
		}
		file, line := loc, 0
		if j := strings.LastIndexByte(loc, ':'); j > 0 {
			if n, err := strconv.Atoi(loc[j+1:]); err == nil {
				file, line = loc[:j], n
			}
		}
		frames = append(frames, Frame{Func: fn, File: file, Line: line})
	}
	return frames
}
