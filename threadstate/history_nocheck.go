//go:build !coopcheck

package threadstate

// Checked reports whether the library was built with the coopcheck tag,
// which makes every Cell keep a ring of its last transitions (Mono's checked
// build).
const Checked = false

// history is empty in normal builds: recording compiles to nothing and a
// Cell stays one 32-bit word.
type history struct{}

func (*history) record(Event, Result, Word, Word) {}
func (*history) snapshot() []Transition           { return nil }
