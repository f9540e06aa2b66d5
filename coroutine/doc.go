// Package coroutine gives a runtime stackful coroutines: a body that can
// suspend itself anywhere in its call stack and be resumed later, with
// open-coroutine's statuses and transitions.
//
// # Model
//
// A coroutine is a goroutine switched by Go's own coroutine switch
// (iter.Pull), never a home-made stack switch (docs/go-rules.md rule 8): Go's
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
//	                                                  → Syscall (Blocking, Sleep)
//	                                                  → Cancelled (Cancel, a cancellation at Poll)
//	                                                  → Complete (the body returned)
//	                                                  → Failed (the body, or its blocking call, panicked)
//	Suspended  waiting to be resumed; WakeAt says when → Running (Resume, only once WakeAt has passed)
//	                                                  → Cancelled (Close)
//	Syscall    inside a blocking call made through   → Running (in place: when the call returns;
//	           the Suspender                            scheduled: Resume once it has returned)
//	                                                  → Cancelled (Close of a scheduled coroutine
//	                                                    once its call has returned)
//
// Cancelled, Complete and Failed are final: resuming a finished coroutine
// returns its final state again. Every other move is refused with an error
// that names the coroutine and both statuses, and changes nothing. The
// body's Suspender acts only while its coroutine is Running: used after
// the body returned, or from anywhere else, it panics with such an error.
//
// # Safepoints
//
// Suspender.Poll is the coroutine's safepoint: it honours a cancellation
// request (RequestCancel) by ending as Cancelled, and a preemption request
// (RequestPreemption, made by a monitor when the time slice runs out) by
// suspending with a zero WakeAt. When the coroutine is bound to a
// suspend.Thread (WithThread), Poll is also that thread's safepoint, so a
// stop of the world stops the coroutine that is running. Resume polls the
// thread before switching in, so no coroutine is resumed while its thread
// is stopped. A blocking call (Suspender.Blocking) is outside the time
// slice: the coroutine is not Running while it runs.
package coroutine
