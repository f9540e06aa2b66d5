//go:build !386

package safepoint

import (
	"syscall"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// Accept accepts a connection on the listening socket fd (accept4 with
// SOCK_CLOEXEC) through Syscall6 and returns the new descriptor.
func Accept(t *suspend.Thread, fd int) (int, error) {
	nfd, _, err := syscall6(t, 3, syscall.SYS_ACCEPT4, uintptr(fd), 0, 0, syscall.SOCK_CLOEXEC, 0, 0)
	if err != nil {
		return -1, err
	}
	return int(nfd), nil
}
