//go:build !linux || !(386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
)

// Where arch.Supported is false there is no handler: everything that
// needs one fails with an error wrapping arch.ErrUnsupported that names
// the platform, and the rest does nothing.

// Record is a thread's mailbox with the signal handler; on this platform
// there is no handler and Register fails.
type Record struct{}

func unsupported() error {
	return fmt.Errorf("%w (%s/%s)", arch.ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

// Install fails: there is no handler on this platform.
func Install(sig syscall.Signal) error { return unsupported() }

// Uninstall does nothing.
func Uninstall(sig syscall.Signal) {}

// Installed fails: there is no handler on this platform.
func Installed(sig syscall.Signal) error { return unsupported() }

// Register fails: there is no handler on this platform.
func Register(owner uint64) (*Record, error) { return nil, unsupported() }

// Unregister does nothing.
func (r *Record) Unregister() {}

// Tid returns 0.
func (r *Record) Tid() int { return 0 }

// InWrapper reports false.
func (r *Record) InWrapper() bool { return false }

// SuspendAsync fails.
func (r *Record) SuspendAsync(ctx context.Context, sig syscall.Signal) (bool, error) {
	return false, unsupported()
}

// ResumeAsync does nothing.
func (r *Record) ResumeAsync() {}

// Sample fails.
func (r *Record) Sample(sig syscall.Signal) (arch.Context, error) {
	return arch.Context{}, unsupported()
}

// SampleAfter fails.
func (r *Record) SampleAfter(sig syscall.Signal, delay time.Duration) (arch.Context, error) {
	return arch.Context{}, unsupported()
}

// Context reports false: no park holds a context.
func (r *Record) Context() (arch.Context, bool) { return arch.Context{}, false }

// Interrupt fails.
func (r *Record) Interrupt(sig syscall.Signal) error { return unsupported() }

// TakeInterrupt reports false.
func (r *Record) TakeInterrupt() bool { return false }

// InKernelEntry reports false.
func InKernelEntry(pc uintptr) bool { return false }

// SyscallPC returns 0.
func SyscallPC() uintptr { return 0 }

// Shared is a record for threads that are not registered.
var Shared = new(Record)

// RecordOf returns nil: nothing is registered on this platform.
func RecordOf(tid int) *Record { return nil }
