package coroutine

import (
	"errors"
	"fmt"
	"time"
)

// Status is where a coroutine is in its life (see the package comment).
type Status uint8

const (
	Ready Status = iota
	Running
	Suspended
	Syscall
	Cancelled
	Complete
	Failed
)

var statusNames = [...]string{"Ready", "Running", "Suspended", "Syscall", "Cancelled", "Complete", "Failed"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Finished reports whether s is final: Cancelled, Complete or Failed.
func (s Status) Finished() bool { return s >= Cancelled }

// Outcome is what Resume reports.
type Outcome[Y, R any] struct {
	Status Status
	// Syscall is where a coroutine in status Syscall is with its blocking
	// call. (Beside Status, so that the two bytes share a word.)
	Syscall SyscallState
	// Yield is the value the body suspended with (Suspended).
	Yield Y
	// WakeAt is when a Suspended coroutine asked to be resumed (Delay);
	// zero when it may be resumed at once (Yield, a preemption).
	WakeAt time.Time
	// Result is what the body returned (Complete).
	Result R
	// Err is the failure (Failed): a *PanicError, or, for a coroutine a
	// Scheduler refused to run, an error wrapping ErrForeignThread.
	Err error
}

// SyscallState is the inner state of a coroutine in status Syscall.
type SyscallState uint8

const (
	// NotInSyscall: the coroutine is not in status Syscall.
	NotInSyscall SyscallState = iota
	// SyscallExecuting: the blocking call runs.
	SyscallExecuting
	// SyscallReturned: the call has returned; the coroutine may be
	// resumed (open-coroutine's Callback).
	SyscallReturned
)

var syscallNames = [...]string{"NotInSyscall", "Executing", "Returned"}

func (s SyscallState) String() string {
	if int(s) < len(syscallNames) {
		return syscallNames[s]
	}
	return fmt.Sprintf("SyscallState(%d)", uint8(s))
}

// StatusError is a refused status change.
type StatusError struct {
	Name     string
	From, To Status
	Reason   string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("coroutine %q: unexpected %v->%v", e.Name, e.From, e.To)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// ErrGoexit is wrapped by the error of a coroutine whose body called
// runtime.Goexit (directly, or through t.FailNow or t.SkipNow in a test):
// it ends as Failed, after its deferred calls, and its resumer goes on.
// Go cannot finish such a goroutine without passing the Goexit on to its
// resumer (iter.Pull does), so the body's goroutine stays parked, its
// stack unwound, for the life of the process.
var ErrGoexit = errors.New("the body called runtime.Goexit")

// PanicError is the error of a Failed coroutine: the value its body
// panicked with, and the coroutine's stack at the panic. For a panic in a
// blocking call that a Scheduler ran on another goroutine, Stack is the
// call's stack there, then the body's where Blocking raised it again.
type PanicError struct {
	Name  string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("coroutine %q panicked: %v\n%s", e.Name, e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
