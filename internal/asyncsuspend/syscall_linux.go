//go:build linux

package asyncsuspend

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Gettid returns the calling OS thread's id.
func Gettid() int { return unix.Gettid() }

var pid = unix.Getpid()

// Tgkill sends sig to the thread tid of this process.
func Tgkill(tid int, sig syscall.Signal) error {
	if err := unix.Tgkill(pid, tid, sig); err != nil {
		return err
	}
	return nil
}

// ThreadExists reports whether tid is a thread of this process, by
// sending it signal 0. false is certain: the thread has exited. true may
// be a new thread the kernel gave the same id.
func ThreadExists(tid int) bool { return Tgkill(tid, 0) != unix.ESRCH }
