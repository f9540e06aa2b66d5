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
// Hybrid adds a second phase to Coop: once the running threads have
// stopped, a thread still inside its blocking region that is in a system
// call made through safepoint's wrappers is suspended by a signal, inside
// the kernel; the others stay counted as stopped in their region. Attach
// locks the goroutine to its OS thread so that the signal can find it.
//
// Preemptive signals such threads at once, in the stop's first phase,
// while the running ones make their way to a poll. Go code is stopped at
// its polls under every policy: a goroutine parked in a signal handler
// would hold its P and deadlock Go's own garbage collector (in Mono,
// preemptive suspends every thread by signal). Hybrid and Preemptive need
// coopsuspend's signal handler (arch.Supported); where there is none,
// NewWorld refuses them with an error wrapping arch.ErrUnsupported.
//
// # Choosing a policy
//
// Take Coop unless a thread must be stopped while it waits in a system
// call and you make that call through safepoint's wrappers
// (safepoint.Read, Write, Syscall6): Coop counts such a thread as stopped
// at once (it touches nothing of the runtime's until it returns, and parks
// then), which is all a collector or a snapshot needs. Hybrid and
// Preemptive also suspend it inside the kernel, so that a debugger sees
// its registers and it cannot return during the stop; the price is that
// every attached goroutine is locked to its OS thread (a wake-up across
// threads costs about 20 µs instead of 0.3 µs), and a stop that reaches a
// thread in a wrapped call sends it a signal and waits for the answer.
// Stops cost more too: in docs/benchmarks.md a stop of one gopher-lua
// guest has a median of 22–25 µs under Coop and 42–48 µs under Hybrid,
// four starlark guests 73–81 µs and 158–170 µs.
//
// # What the initiator may read
//
// Once Stop returns, the initiator may read (and write) everything the
// stopped threads did before they stopped, without a data race: a
// thread's last writes come before its park or its entry into a blocking
// region, and Stop returns only after it has seen each of them. A thread
// inside a blocking region touches no state of the runtime's until it
// leaves the region, and then parks until the restart. The same holds
// for the thread a SuspendThread returned for. The other way round,
// everything the initiator did before Restart (or ResumeThread) comes
// before the threads run again. The README's "Reading guest state while
// the world is stopped" names the atomic operations that carry the order.
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
