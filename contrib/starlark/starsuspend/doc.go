// Package starsuspend embeds go.starlark.net interpreters in a coopsuspend
// world: each starlark.Thread becomes a guest thread that a stop of the
// world, or a debugger's SuspendThread, parks between two steps of the
// interpreter, without modifying starlark.
//
// # The model
//
// Starlark has no safepoint of its own, but its interpreter loop counts
// steps and calls Thread.OnMaxSteps when the count reaches the limit set
// by SetMaxExecutionSteps. Attach installs a hook there that polls
// (safepoint.Poll) and moves the limit K steps on, so a guest polls every
// K steps of starlark code (WithPollEvery; the default, 64, costs about
// 3 % over plain starlark on a CPU-bound loop, where 16 costs 13 %; see
// docs/benchmarks.md). A parked guest stops at the top of the interpreter
// loop, between two instructions, with its call stack consistent: a
// debugger that holds it (Pause, StopAll) reads its CallStack and step
// count, and that read is ordered after everything the guest did before
// it parked (the park is a semaphore wait; the stop loads the guest's
// state word after it), so it is not a data race.
//
// Starlark's step limit is also its resource limit. The hook keeps it:
// the embedder's limit and OnMaxSteps callback, captured by Attach (or set
// later through Guest.SetMaxExecutionSteps, since starlark has no way to
// read a limit back), behave exactly as without the adapter: at the limit
// the embedder's OnMaxSteps runs, or the thread is cancelled with "too
// many steps" as starlark does by default. An OnMaxSteps that does not
// raise the guest's limit (one that calls starlark's own
// SetMaxExecutionSteps instead) cancels the run with an error that says so.
//
// # The cost of polling
//
// Each poll is a call of the hook by starlark's interpreter, which then
// reloads what it kept in registers. At K=1 that happens every step: on
// a CPU-bound loop the adapter costs about 1.4× plain starlark, and no
// adapter can do much better, since starlark's hook call alone costs
// 1.2–1.3× and the same hook with nothing but a safepoint.Poll 1.3–1.4×
// (BenchmarkSpinRatio measures all three in one process; figures in
// docs/benchmarks.md). The adapter's own share, the embedder's limit
// folded into one comparison, is within a few percent of that floor.
// K=1 is for tests that must stop at every step.
//
// # Builtins
//
// Go code called from starlark runs on the guest's goroutine, and is one
// of three kinds, each with its wrapper:
//
//   - Builtin: ordinary Go code that touches starlark values. It runs in
//     GC-unsafe mode like the interpreter, and a stop waits for it to
//     return to the loop; keep it short.
//   - Blocking: code that waits (I/O, sleep, locks, channels). It runs in
//     a blocking region, so a stop does not wait for it, and so it must
//     not touch shared starlark state while it waits.
//   - A callback into starlark (starlark.Call of a function value) from
//     either kind goes through Call, which leaves the blocking region
//     for the callback (safepoint.EnterUnsafe) and so may be used from
//     any builtin. A plain starlark.Call from inside a Blocking builtin
//     would run guest code that a stop does not wait for: the hook
//     detects it at the callback's first step and cancels the thread
//     with an error that says to use Call.
//
// ThreadOf finds the guest's *suspend.Thread from a builtin's
// *starlark.Thread, for builtins that use package safepoint directly.
//
// # Lifetime
//
// Run attaches, runs a function and detaches, even when the function
// panics. A Guest must be attached, used and detached on one goroutine,
// the one that executes its starlark.Thread.
package starsuspend
