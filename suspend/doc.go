// Package suspend is the initiator's side of coopsuspend: it stops, pauses
// and resumes the guest threads of a runtime written in Go, the way Mono
// suspends its threads. The thread's side (polls, blocking regions) is
// package safepoint.
//
// # Threads and their words
//
// A World is a registry of threads. A thread is a goroutine that called
// World.Attach; it stays one until it calls Thread.Detach on the same
// goroutine. Each thread owns a state word (a threadstate.Cell: state,
// suspend count, no-safepoints flag) and a resume semaphore. The thread
// applies its own events to the word: it polls (safepoint.Poll), enters
// and leaves blocking regions (safepoint.EnterSafe, ExitSafe, Blocking),
// calls back into the runtime from one (EnterUnsafe), and opens
// no-safepoints regions. A thread stops only where one of those
// transitions tells it to, and then parks on its resume semaphore as a
// goroutine, which gives its P back to Go's scheduler.
//
// # The initiator and the suspend lock
//
// The initiator is whoever calls Stop, SuspendThread or ResumeThread: a
// collector, a snapshotter, a debugger, or a guest thread itself (Stop
// with By). It alone applies the initiator's events to other threads'
// words: request a suspension, peek, resume, abort a request. It holds
// the world's suspend lock while it does, so there is one initiator at a
// time and the set of threads cannot change under it; a stop keeps the
// lock until Stopped.Restart. Attach and Detach take the lock too, so they
// wait while the world is stopped. An attached goroutine that waits for
// the lock waits inside a blocking region, so that the initiator ahead of
// it can stop it meanwhile.
//
// A stop requests every thread, then waits until each one that was
// running Go code has parked at its next poll; a thread found inside a
// blocking region counts as stopped at once, and parks only if it leaves
// the region before the restart. If a thread does not arrive before the
// context ends or the world's stop timeout passes, every request made is
// withdrawn, the world is usable again, and Stop returns a
// *StopTimeoutError: one line that names the threads that did not arrive,
// their states and the lines their goroutines were at, with the world's
// Dump beside it. A world bounds its stops by DefaultStopTimeout unless
// WithStopTimeout says otherwise.
//
// # Policies
//
// Coop, the default, stops threads only at their polls. No signals are
// sent and no goroutine is locked to its OS thread; a thread inside a
// blocking region keeps running its blocking call and counts as stopped.
//
// Hybrid is Coop with Mono's second, mop-up phase: once the running
// threads have stopped, a thread still inside its blocking region that is
// in a system call made through safepoint's wrappers is suspended
// asynchronously, by a signal, inside the kernel; the others stay counted
// as stopped in their region. Attach locks the goroutine to its OS thread
// so that the signal can find it.
//
// Preemptive, which in Mono suspends every thread by signal, suspends in
// Go only the threads inside a wrapped system call, and does so at once,
// in the first phase; Go code is stopped at its polls, as in the other
// policies, because a goroutine parked in a signal handler would hold its
// P and deadlock Go's own garbage collector. Hybrid and Preemptive need
// coopsuspend's signal handler (arch.Supported); where there is none,
// NewWorld refuses them with an error wrapping arch.ErrUnsupported.
//
// # Where the protocol is specified
//
// docs/design.md tells how a stop runs, phase by phase, and who parks
// where. The state machine every thread runs is docs/state-machine.md,
// generated from package threadstate's table. The parts of Mono's
// protocol the package follows (request, poll, resume, abort, the
// pending-operation accounting, the stop's phases and its end states) are
// in docs/mono-protocol.md, whose section numbers (§4.4) and invariant
// names (I13, I14) the code cites; the rules Go imposes on them are in
// docs/go-rules.md, cited as "rule 1" to "rule 8".
package suspend
