// Package modelcheck runs the library's stop path under internal/seam's
// explorer: a set of scenarios (initiators and guest threads written
// against the public API) explored under every schedule within a
// preemption bound and under random PCT schedules, with the protocol's
// invariants checked at every step (docs/design.md, "Model checking the
// library"). It has tests only, built with the coopmodel tag:
//
//	go test -tags coopmodel ./internal/modelcheck
//	go test -tags coopmodel ./internal/modelcheck -coopmodel.long   # bound 3, more PCT
//
// A failure prints the schedule that reproduces it; -coopmodel.replay
// runs that one execution again. The mutants test applies each of a list
// of deliberate bugs to a copy of the module and requires the explorer
// to catch it.
package modelcheck
