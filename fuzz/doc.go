// Package fuzz holds the coverage-guided fuzz targets of coopsuspend. It
// has no API; its tests are the targets, and their seed corpora in
// testdata/fuzz run with every `go test ./...`. To fuzz one:
//
//	go test ./fuzz -run '^$' -fuzz FuzzStep -fuzztime 60s
//	go test ./fuzz -run '^$' -fuzz FuzzProtocol -fuzztime 60s
//
// FuzzStep turns bytes into a word and a sequence of events and holds
// threadstate.Step against the reference transcription in
// internal/monospec: Step never panics, refuses exactly where the
// reference is fatal, and otherwise computes the reference's word and
// result. FuzzProtocol turns bytes into an interleaving of the initiator's
// and the threads' protocol steps on real Cells (internal/stwmodel), under
// a policy the bytes choose, and requires every step to keep the
// invariants: no refused transition, no broken invariant or
// stop-the-world postcondition, no deadlock.
package fuzz
