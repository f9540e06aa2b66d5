//go:build !386

package safepoint

import (
	"syscall"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// Accept accepts a connection on the listening socket fd (accept4 with
// SOCK_CLOEXEC) through Syscall6 and returns the new descriptor.
func Accept(t *suspend.Thread, fd int) (int, error) {
	c := call{trap: syscall.SYS_ACCEPT4, word: [6]uintptr{uintptr(fd), 0, 0, syscall.SOCK_CLOEXEC}}
	nfd, _, err := c.do(t, 3)
	if err != nil {
		return -1, err
	}
	return int(nfd), nil
}
