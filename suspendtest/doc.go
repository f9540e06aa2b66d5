// Package suspendtest is a test kit for runtimes that embed coopsuspend:
// what net/http/httptest and testing/fstest are to their packages.
//
// An embedder's integration has three things to prove, and the kit has a
// piece for each:
//
//   - Stops are sound on its code paths. Storm stops and restarts a world
//     at random intervals for the length of a test, checks after every
//     stop that each thread is in one of the policy's stopped states
//     (CheckStopped) and that the embedder's own check holds while the
//     world is stopped (no guest progressed, the heap is consistent), and
//     reports stop latencies. A check that finds a guest moving while
//     stopped is exactly the bug an unpolled loop or an unguarded
//     callback produces.
//   - Single threads can be held. WaitParked and WaitInRegion wait until a
//     thread is parked at a safepoint or running inside its blocking
//     region; Slowest finds the thread that holds a stop up.
//   - Its own transitions obey the state machine. The rapid generators
//     (Policies, Events, Words, Actions) and CheckedCell, a
//     threadstate.Cell whose every transition threadstate.Checker checks,
//     let a runtime run property-based tests over its own sequences of
//     polls, blocking regions and callbacks.
//
// Every helper reports failures as errors naming the thread and its state
// word, so a test can print them as they are; none of them calls
// t.Fatal from a goroutine other than the test's.
package suspendtest
