package arch

import (
	"errors"
	"time"
)

// ErrHandlerReplaced reports that the handler is no longer the one the
// kernel runs for the signal: signal.Ignore, signal.Notify's reset or
// another library replaced it.
var ErrHandlerReplaced = errors.New("coopsuspend/arch: the signal handler was replaced")

// ErrUnsupported reports a platform without the signal machinery: the
// cooperative path works everywhere, asynchronous suspension only where
// this package has its assembly.
var ErrUnsupported = errors.New("coopsuspend/arch: asynchronous suspension is not supported on this platform")

// ErrBusy reports a sample asked while another request (a stop's park)
// holds the thread's record.
var ErrBusy = errors.New("coopsuspend/arch: the thread's record is busy with another request")

// ErrTableFull is returned by Register when every slot is taken.
var ErrTableFull = errors.New("coopsuspend/arch: thread table full")

// ErrRegistered is returned by Register when the calling goroutine has
// registered its OS thread already: the handler can serve one record per
// thread.
var ErrRegistered = errors.New("coopsuspend/arch: this goroutine's OS thread is registered already")

// ErrNoAnswer reports a request the handler never took.
var ErrNoAnswer = errors.New("coopsuspend/arch: the signal handler did not answer")

// AckTimeout bounds how long an initiator waits for the handler to answer
// a request before it concludes that the handler is not running (it was
// replaced, or the signal is blocked) and withdraws the request.
var AckTimeout = time.Second
