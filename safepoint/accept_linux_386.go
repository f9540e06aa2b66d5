package safepoint

import (
	"syscall"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/suspend"
)

// socketcall's number for accept4 (linux/net.h SYS_ACCEPT4).
const socketcallAccept4 = 18

// Accept accepts a connection on the listening socket fd (accept4 with
// SOCK_CLOEXEC, through socketcall on 386) via Syscall6 and returns the new
// descriptor.
func Accept(t *suspend.Thread, fd int) (int, error) {
	args := [4]uintptr{uintptr(fd), 0, 0, syscall.SOCK_CLOEXEC}
	c := call{trap: syscall.SYS_SOCKETCALL, word: [6]uintptr{socketcallAccept4}}
	c.ptr[1] = unsafe.Pointer(&args)
	nfd, _, err := c.do(t, 3)
	if err != nil {
		return -1, err
	}
	return int(nfd), nil
}
