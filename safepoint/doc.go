// Package safepoint is the thread side of coopsuspend: what a guest thread
// of the runtime calls so that it can be stopped, and so that it does not
// hold a stop up while it waits.
//
// A thread (a goroutine attached with suspend.World.Attach) is always in
// one of two modes:
//
//   - GC-unsafe, the default: it runs the runtime's code and touches its
//     shared state, so a stop must wait until it parks at a safepoint.
//     Poll is that safepoint. Interpreters call it at every backward
//     branch and call; its fast path is one atomic load and it inlines.
//   - GC-safe, inside a blocking region (EnterSafe/ExitSafe, Blocking):
//     it has promised not to touch shared state, so a stop counts it as
//     stopped without waiting, and if it leaves the region while the world
//     is stopped it parks in ExitSafe until the restart.
//
// EnterUnsafe/ExitUnsafe switch back to GC-unsafe mode for a while from
// either mode (a callback from a native call), and
// BeginNoSafepoints/EndNoSafepoints mark code that must not stop at all,
// short sections a stop waits out.
//
// Parking is always a goroutine park on the thread's resume semaphore: it
// releases the goroutine's P, so Go's own garbage collector and scheduler
// carry on while a world is stopped.
//
// Misuse on the thread side, such as polling inside a blocking region,
// nesting blocking regions, or unbalanced regions, panics with a
// *threadstate.TransitionError that names the thread, its state word and
// the refused event; the word is left unchanged.
package safepoint
