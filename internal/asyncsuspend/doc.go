// Package asyncsuspend is coopsuspend's signal machinery, the part of
// Mono's asynchronous suspension that Go lets a library have: the signal
// handler (assembly, one file per architecture) that parks, samples or
// interrupts a thread inside the kernel entry; the per-thread records it
// reads and the table it finds them in; the kernel entry itself, which
// safepoint's system-call wrappers go through (Syscall6); installing the
// handler in front of Go's; and the raw system calls that aim a signal at
// one thread (tgkill, a POSIX timer) or wait for an answer (futex).
//
// It is internal because all of it is protocol between coopsuspend's own
// packages, with invariants a caller could break: a record must stay on
// its locked OS thread, a pointer passed to Syscall6 must follow rules
// the compiler does not check, AckTimeout is a global. What a user sees
// of it is in package arch: the register set a park or a sample saves
// (arch.Context, which this package decodes from the kernel's signal
// frame), whether the platform has the handler (arch.Supported), the
// signals it can use, and the errors (arch.ErrUnsupported,
// ErrHandlerReplaced, ErrNoAnswer, ErrTableFull), which this package
// returns wrapped.
//
// # Why a handler may park only inside the kernel entry
//
// A thread that runs Go code holds a scheduler slot (a P). Parking it in
// a signal handler would make Go's next stop-the-world wait for that P
// forever (docs/go-rules.md rule 1). A thread that entered the kernel
// through the runtime's syscall path (entersyscall) holds no P, and
// parking it there is safe (rule 2). So the handler parks a thread only
// when the interrupted program counter is at the system-call instruction
// of kernelEntry, which Syscall6 reaches between entersyscall and
// exitsyscall, and the thread's record says it is inside the entry.
// Anywhere else it declines at once.
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
package asyncsuspend
