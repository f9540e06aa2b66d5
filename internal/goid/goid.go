// Package goid tells goroutines apart, for the checks that need to know
// which goroutine is calling: an attach of a goroutine that is already
// attached, and thread-side calls made from the wrong goroutine (the
// coopcheck build).
//
// Go gives a goroutine no identity on purpose; the only stable one it
// shows is the number in the header of runtime.Stack's trace
// ("goroutine 18 [running]:"), which is never reused while the process
// lives. Reading it costs a stack trace of the calling goroutine (about a
// microsecond), so it is read on slow paths only: Attach, and every
// thread-side call of a coopcheck build.
package goid

import (
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
