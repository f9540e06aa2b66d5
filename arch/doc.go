// Package arch is coopsuspend's per-architecture core: the register set of
// a thread (Context) and how to capture it, the decoding of the kernel's
// signal frame, raw futex and tgkill, the kernel entry that safepoint's
// system-call wrappers use, and the signal handler that suspends a thread
// asynchronously while it is inside that entry.
//
// # Why a handler may park only inside the kernel entry
//
// A thread that runs Go code holds a scheduler slot (a P). Parking it in a
// signal handler would make Go's next stop-the-world wait for that P
// forever (docs/go-rules.md rule 1). A thread that entered the kernel through the
// runtime's syscall path (entersyscall) holds no P, and parking it there is
// safe (rule 2). So the handler parks a thread only when the interrupted
// program counter is at the system-call instruction of KernelEntry, which
// Syscall6 reaches between entersyscall and exitsyscall, and the thread's
// record says it is inside the entry. Anywhere else it declines at once.
//
// # The handler
//
// The handler is assembly (rule 4): NOSPLIT, no Go calls, no sync/atomic,
// no allocation, raw system calls only. It is installed on one signal
// (SIGURG by default, or a real-time signal) with a raw rt_sigaction that
// keeps the flags and restorer Go installed, forces SA_ONSTACK, and
// replaces only the handler address, which comes from an assembly helper
// (the ABI0 entry, not a Go func value). Every delivery ends with a jump to
// the previous handler (Go's) with the argument registers untouched, so
// Go's own preemption keeps working (rule 3).
//
// Signals of the same number coalesce and carry nothing that survives, so
// a delivery means "look at this thread's record": the handler finds the
// record by the thread's OS id in a fixed table and acts on what the
// initiator asked for there:
//
//   - a suspend request: if the thread is at the kernel entry, save the
//     interrupted context, acknowledge "parked", futex-wait until released,
//     acknowledge "resumed"; otherwise acknowledge "declined";
//   - a sample request: save the context, acknowledge "sampled";
//   - an interrupt: if the thread is at or before the entry's system-call
//     instruction, make the call return EINTR instead of (re)starting.
//
// The initiator owns the state word: it applies FinishAsyncSuspend on the
// parked thread's behalf once the handler says "parked", when the thread
// can no longer touch its word.
package arch
