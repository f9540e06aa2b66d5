// Package threadstate is the state machine every thread of a coopsuspend
// world runs: Mono's thread-suspension state machine, one table that the
// code, the documentation and the tests all read.
//
// # The word
//
// A thread's whole suspension state is one 32-bit Word, held in a Cell and
// changed only by compare-and-swap: its State (seven bits), a suspend count
// (how many suspenders hold it) and a no-safepoints flag. Three actors
// change it, and each event belongs to exactly one of them:
//
//   - the thread itself (Self) attaches and detaches, polls at safepoints
//     (StatePoll), enters and leaves blocking regions (DoBlocking,
//     DoneBlocking, AbortBlocking) and no-safepoints regions;
//   - the initiator, the one goroutine holding the world's suspend lock,
//     requests suspension, peeks, pulses, resumes and aborts requests;
//   - the signal handler running on the thread (Handler) finishes an
//     asynchronous suspend.
//
// # States
//
// A thread is executing in Running (GC-unsafe code, which must poll),
// Blocking (a GC-safe region, which has no safepoints and counts as
// stopped in coop), and in the two requested states AsyncSuspendRequested
// and BlockingSuspendRequested, where it runs on until it reaches a
// safepoint or leaves its region. It is parked in SelfSuspended (at a poll),
// BlockingSelfSuspended (on its way out of a blocking region),
// AsyncSuspended and BlockingAsyncSuspended (in the signal handler). Parked
// threads make no transition of their own; only the initiator moves them
// on. Starting and Detached bracket a thread's life.
//
// # Transitions
//
// Step(word, event) is the whole machine: a pure function that returns the
// new word and a Result telling the caller what to do next (wait, notify,
// poll and retry, resume through a semaphore or a signal), or a
// *TransitionError where Mono's transition would be fatal. Cell.Apply
// publishes Step's word with a compare-and-swap loop and never writes on a
// refusal. The table, its guards and every cell are in
// docs/state-machine.md, generated from the code by go generate.
//
// # How the table is checked
//
// The table is compared with an independent transcription of Mono's
// transition functions on every word and event, and model-checked, alone
// and under the library's own code; docs/design.md ("Model checking the
// library") says what each check proves.
//
// # Checked builds
//
// Built with the coopcheck tag, every Cell keeps a ring of its last
// transitions and TransitionError prints them (Mono's checked build). In
// normal builds a Cell is one 32-bit word and recording compiles to
// nothing.
package threadstate

//go:generate go test -run ^TestStateMachineDoc$ -update
