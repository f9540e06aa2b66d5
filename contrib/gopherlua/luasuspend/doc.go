// Package luasuspend embeds github.com/yuin/gopher-lua states in a
// coopsuspend world: each LState becomes a guest thread that a stop of the
// world, or a debugger's SuspendThread, parks between two Lua
// instructions, without modifying gopher-lua.
//
// # The model
//
// gopher-lua has no hook, but once a state has a context its interpreter
// loop evaluates L.Context().Done() before every instruction. Attach sets
// the state's context to one of the adapter's, which stands for the
// embedder's own (its cancellation, deadline and values work as before)
// and whose Done is the guest's safepoint: it compares the guest thread's
// state word with RUNNING, one atomic load, and only when a stop, a
// suspend or a blocking region shows in the word does it leave for the
// slow path, which polls (safepoint.Poll). A parked guest stands between
// two instructions, with its call stack consistent: a debugger that holds
// it (Pause, StopAll) reads its Lua stack (Guest.View), a read that the
// stop orders after everything the guest did before it parked.
//
// L.Context() is also what gopher-lua hands Go code, which may pass it on
// to other goroutines (an HTTP request's context, say). Done's fast path
// only reads, so that is not a data race, and the slow path polls only
// when gopher-lua's interpreter loop is the caller: the return address is
// compared with the loop's, which the adapter learns once per process by
// running a few instructions on a private state. Go code and other
// goroutines get the embedder's Done channel and nothing else.
//
// # Every instruction
//
// The guest polls before every instruction: there is no "every K
// instructions". A countdown to the next poll would be a write on every
// call of Done, a data race as soon as another goroutine holds the
// context, and it would not be cheaper: the check is one load and one
// compare, like the countdown's. Measured in one process on a CPU-bound
// loop (BenchmarkSpinRatio; docs/gopherlua.md), the adapter costs
// 1.01–1.03× a context whose Done only counts, the least any context
// gopher-lua calls can cost, and a countdown polling every 64 calls costs
// 0.99–1.02× the adapter. A stop waits for at most one instruction of
// each guest, and for Go code it runs (a long Go function, gopher-lua's
// compiler in load or require).
//
// # Coroutines
//
// gopher-lua gives a coroutine thread context.WithCancel of its creator's
// context, whose Done is a plain channel: code inside a coroutine would
// never poll. Attach replaces create, wrap and resume of the coroutine
// library with functions that give each thread a polling context of its
// own (Guest.Adopt), wrapping the cancellable one gopher-lua made, so
// that cancellation reaches coroutines as before. Go code that resumes a
// thread itself (LState.Resume) makes it with Guest.NewThread, or adopts
// it. A thread that outlives the guest is adopted again by the state's
// next guest, or gets its own context back at its next instruction.
//
// # Functions that wait
//
// Go code called from Lua runs on the guest's goroutine, and is one of
// three kinds, each with its wrapper:
//
//   - Builtin: ordinary Go code on Lua values. It runs in GC-unsafe mode
//     like the interpreter, and a stop waits for it to return; keep it
//     short. It polls on entry.
//   - Blocking: code that waits (I/O, sleeps, locks, channels). It runs in
//     a blocking region, where a stop does not wait for it, with the
//     call's arguments read before the region and its results pushed
//     after it; it must not touch the state meanwhile.
//   - A callback into Lua from either goes through Call, which leaves the
//     blocking region for the callback (safepoint.EnterUnsafe). Lua code
//     run otherwise from a Blocking function fails at its first
//     instruction with an error that names Call.
//
// gopher-lua's own library waits in a few places; Attach replaces those
// functions, while they are gopher-lua's own, with versions that wait in
// a blocking region and otherwise behave the same: collectgarbage (a
// runtime.GC), os.execute, channel.select, and a channel's receive and
// send. Its io functions are left alone: a guest reading a pipe or a
// terminal holds a stop up until the read returns.
//
// # Lifetime
//
// Run attaches, runs a function and detaches, even when the function
// panics. A Guest must be attached, used and detached on one goroutine,
// the one that runs its LState.
package luasuspend
