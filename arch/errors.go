package arch

import "errors"

// The errors the signal handler's users meet, wrapped, through the
// suspend and monitor packages. They are declared here, not next to the
// handler, so that a program can test for them with errors.Is.

// ErrUnsupported reports a platform without the signal machinery (see
// Supported): the cooperative path works everywhere, asynchronous
// suspension only where coopsuspend has its assembly. A world whose
// policy needs it, and a monitor with overrun sampling, fail with it.
var ErrUnsupported = errors.New("arch: asynchronous suspension is not supported on this platform")

// ErrHandlerReplaced reports that the handler is no longer the one the
// kernel runs for its signal: signal.Ignore, signal.Reset or another
// library replaced it. Stops, single-thread suspends, interrupts and
// CheckSignals of a world that uses signals then fail with it instead of
// waiting for answers that cannot come.
var ErrHandlerReplaced = errors.New("arch: the signal handler was replaced")

// ErrNoAnswer reports a request the handler never took: the signal was
// sent, but no answer came in time (the signal is blocked on the thread,
// or the handler was replaced between two checks). The stop that asked
// fails and rolls back.
var ErrNoAnswer = errors.New("arch: the signal handler did not answer")

// ErrTableFull reports that no more threads can be registered with the
// handler: the table it searches by thread id is full (Attach under the
// hybrid and preemptive policies, and a coroutine scheduler with a
// monitor, register their thread).
var ErrTableFull = errors.New("arch: thread table full")
