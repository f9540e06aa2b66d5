// Package core is the part of a coopsuspend thread that the initiator side
// (package suspend) and the thread side (package safepoint) share: the
// thread record, its resume semaphore, the initiator's notification
// semaphore with its pending-operation accounting, and the thread-side
// halves of the protocol (poll, park, blocking and unsafe regions,
// no-safepoints regions). Users never see it: suspend.Thread wraps a
// core.Thread as its first field, and safepoint reaches it from there.
//
// Who may touch what:
//
//   - Thread.Cell: the thread and the initiator, only through threadstate
//     events. The signal handler (internal/asyncsuspend) never writes it:
//     once the handler has parked a thread, the initiator applies
//     FinishAsyncSuspend on its behalf.
//   - Thread.resume: posted by the initiator when a transition says so
//     (ResumeInitSelfResume, ResumeInitBlockingResume), received only by
//     the thread while it is parked. The state machine allows at most one
//     post per park.
//   - Notifier: posted by threads when a transition says so; waited on only by the initiator, which holds the world's suspend
//     lock.
package core
