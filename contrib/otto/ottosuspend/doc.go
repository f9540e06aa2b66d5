// Package ottosuspend embeds github.com/robertkrimen/otto VMs in a
// coopsuspend world: each VM becomes a guest thread that a stop of the
// world, or a debugger's SuspendThread, parks between two JavaScript
// nodes (statements and expressions), without modifying otto.
//
// # The model
//
// otto has no hook, but once a VM's Interrupt channel is set it selects
// on it before every statement and expression, and runs any func it
// receives, on the VM's goroutine. Attach gives the VM a channel of the
// guest's own, and registers a nudge with the world (suspend.OnRequest):
// whenever a stop or a SuspendThread puts its request on the guest's
// state word, whoever the initiator is (a collector that knows nothing of
// otto included), the world calls the nudge right after the request, and
// the nudge sends a func that polls (safepoint.Poll) without blocking.
// The guest receives it at its next node and parks there. A func sent
// before the request would poll too early and find nothing; one sent
// after it cannot miss it. A nudge left over from a request that was
// rolled back (a stop that timed out) polls for nothing; one that finds
// the guest in a blocking region waits in the channel and polls after the
// region. A parked guest stands between two nodes, with its call stack
// consistent: a debugger that holds it (Pause, StopAll) reads it from
// otto's Context (Guest.View), a read that the stop orders after
// everything the guest did before it parked.
//
// # The embedder's Interrupt
//
// The embedder's own channel (vm.Interrupt at Attach) keeps working: a
// goroutine forwards the funcs sent on it to the guest, which runs them
// on the VM's goroutine at its next node, in order, as otto would. Funcs
// sent on vm.Interrupt itself while attached (the guest's channel) run
// too, and Guest.Interrupt sends one from any goroutine without blocking.
// A func that panics (otto's way to halt a script) ends the run as
// before. Detach gives the VM its channel back, with the funcs that did
// not run. Guest.SetInterrupt changes it while attached: assigning
// vm.Interrupt would stop the guest from polling.
//
// # What it costs
//
// The channel is idle between requests: a guest costs what otto costs
// with any Interrupt channel set, its select and a runtime.Gosched before
// every node (2–3× plain otto on a CPU-bound loop), and the adapter adds
// nothing measurable to that (BenchmarkSpinRatio, docs/otto.md). Under
// the hybrid and preemptive policies Attach locks the guest's goroutine
// to its OS thread, and a runtime.Gosched on a locked goroutine hands the
// thread over and waits to get it back, about 16 µs: a guest in a hybrid
// or preemptive world runs about 80× slower than in a coop world, which
// is otto's Gosched on a locked thread, not the adapter
// (BenchmarkHybridRatio). Use the coop policy for otto guests.
//
// # Functions that wait
//
// Go code called from JavaScript runs on the guest's goroutine, and is
// one of three kinds, each with its wrapper:
//
//   - Builtin: ordinary Go code on JavaScript values. A stop waits for it
//     to return; keep it short. It polls on entry.
//   - Blocking: code that waits (I/O, sleeps, locks, channels). It runs in
//     a blocking region, where a stop does not wait for it, with the
//     call's arguments exported to Go values before the region and its
//     result converted after it; it must not touch the VM meanwhile.
//   - A callback into JavaScript from either goes through Call, which
//     leaves the blocking region for the callback (safepoint.EnterUnsafe).
//     JavaScript run otherwise from a Blocking function fails at its
//     first node with an Error that names Call.
//
// otto's own natives (Array.prototype.sort on a large array, a regular
// expression on a long string, JSON on a large value, its parser in Run
// and in new Function) are Go code that does not poll: a stop waits for
// them.
//
// # Lifetime
//
// Run attaches, runs a function and detaches, even when the function
// panics. A Guest must be attached, used and detached on one goroutine,
// the one that runs its VM.
package ottosuspend
