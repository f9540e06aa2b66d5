// Package coroutine gives a runtime stackful coroutines: a body that can
// suspend itself anywhere in its call stack and be resumed later, with
// open-coroutine's statuses and transitions.
//
// # Model
//
// A coroutine is a goroutine switched by Go's own coroutine switch
// (iter.Pull), never a home-made stack switch (DESIGN.md rule 8): Go's
// garbage collector scans its stack like any other, and a switch hands
// the running thread over directly, without the scheduler's run queue.
// Exactly one side runs at a time: the resumer is blocked in Resume while
// the body runs, and the body is blocked in its Suspender while the
// resumer runs.
//
// # Statuses and who moves them
//
//	Ready      created, never run                     → Running (Resume)
//	Running    the body runs                          → Suspended (Yield, Delay, a preemption at Poll)
//	                                                  → Syscall (Sleep) → Running when it returns
//	                                                  → Cancelled (Cancel, Close)
//	                                                  → Complete (the body returned)
//	                                                  → Failed (the body panicked)
//	Suspended  waiting to be resumed; WakeAt says when → Running (Resume, only once WakeAt has passed)
//	Syscall    inside a blocking call made through the Suspender
//
// Cancelled, Complete and Failed are final: resuming a finished coroutine
// returns its final state again. Every other move is refused with an error
// that names the coroutine and both statuses, and changes nothing.
//
// # Safepoints
//
// Suspender.Poll is the coroutine's safepoint: it honours a preemption
// request (Preempt, set by a monitor when the time slice runs out) by
// suspending with a zero WakeAt, and, when the coroutine is bound to a
// suspend.Thread (WithThread), it is also that thread's safepoint, so a
// stop of the world stops the coroutine that is running. Resume polls the
// thread before switching in, so no coroutine is resumed while its thread
// is stopped.
package coroutine
