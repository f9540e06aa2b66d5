// Package arch describes a thread's machine state to coopsuspend's users,
// and says what the platform offers.
//
// A thread that a stop parked asynchronously (suspend.ThreadInfo's
// Context), or that a monitor sampled in a loop without a safepoint
// (monitor.Overrun), is described by its registers: Context, one struct
// per architecture, which Capture also fills for the calling goroutine.
// Symbolize and Frame name the function, file and line of a program
// counter, and Place says whose code it is in: a signal catches a thread
// wherever it is, often in the Go runtime or the vDSO rather than in the
// program, and only a pc in the program is the goroutine's own position.
//
// Asynchronous suspension (the hybrid and preemptive policies, and the
// monitor's overrun samples) needs a signal handler written in assembly
// for each architecture; Supported says whether this platform has one,
// DefaultSignal and ValidSignal which signals it can run on. Where it is
// missing, whatever needs it fails with an error wrapping ErrUnsupported
// that names the platform, and the cooperative path still works. The
// other errors here are the handler's, as the suspend and monitor
// packages return them wrapped: test them with errors.Is.
//
// The handler itself, the per-thread records it reads, and the kernel
// entry that safepoint's system-call wrappers go through are internal to
// coopsuspend (internal/asyncsuspend, whose package comment explains why
// a thread may be parked only inside that entry).
package arch
