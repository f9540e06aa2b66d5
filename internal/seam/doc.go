// Package seam is the one door through which the stop path's shared
// memory and blocking go: the state word's atomic (threadstate.Cell), the
// notifier's counters and kick, each thread's resume semaphore, the
// world's suspend lock and its registry mutex. Everything else on that
// path is private to one goroutine or guarded by one of these.
//
// In a normal build the door is not there: Uint32, Int64 and RWMutex
// are aliases of the sync/atomic and sync types, Token is a channel of
// capacity one whose methods are the channel operations the code used to
// write inline, and Sema (a thread's resume semaphore) is such a channel,
// made when the thread first parks or is first posted. Point compiles to
// nothing. The benchmarks of Poll, Cell.Apply and Stop/Restart
// (docs/benchmarks.md, "The seam") show it; TestSeamCompilesAway keeps
// the stop path's object code free of calls into the seam except three
// in front of a blocking channel operation, and the benchmark pairs
// beside it time those against the direct operation. safepoint's
// TestPollInlines keeps Poll's fast path one inlined load.
//
// Built with the coopmodel tag, every operation first hands control to a
// deterministic scheduler when the calling goroutine is one the
// scheduler runs (explore.go): one goroutine runs at a time, and the
// scheduler chooses who runs next before each operation. Blocking
// operations never block a goroutine for real; the scheduler parks it
// until the operation can complete, so that a deadlock is seen rather
// than suffered. Goroutines the scheduler does not run (every test that
// is not an exploration) get the direct operation, as in a normal build.
//
// The model is sequentially consistent: each operation takes effect
// atomically, in the order the scheduler picked. That is what Go's
// sync/atomic promises for the operations used here, so the explorer
// loses no behaviour Go allows on the atomics; it does not model the
// compiler or a CPU reordering plain memory accesses, which the race
// detector covers (go test -race).
package seam
