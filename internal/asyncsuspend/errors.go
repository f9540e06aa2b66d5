package asyncsuspend

import (
	"errors"
	"time"
)

// The errors a user can meet are arch's (arch.ErrUnsupported,
// ErrHandlerReplaced, ErrNoAnswer, ErrTableFull), returned wrapped so
// that errors.Is finds them through suspend and monitor. The two below
// never leave coopsuspend: suspend turns ErrRegistered into its
// ErrAttached, and the monitor retries a sample that met ErrBusy.

// ErrBusy reports a sample asked while another request (a stop's park)
// holds the thread's record.
var ErrBusy = errors.New("the thread's record is busy with another request")

// ErrRegistered is returned by Register when the calling goroutine has
// registered its OS thread already: the handler can serve one record per
// thread.
var ErrRegistered = errors.New("this goroutine's OS thread is registered already")

// AckTimeout bounds how long an initiator waits for the handler to answer
// a request before it concludes that the handler is not running (it was
// replaced, or the signal is blocked) and withdraws the request. Tests
// shorten it to provoke arch.ErrNoAnswer, or lengthen it to tell the
// timeout from a context's end.
var AckTimeout = time.Second
