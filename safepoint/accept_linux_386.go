package safepoint

import (
	"runtime"
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
	nfd, _, err := syscall6(t, 3, syscall.SYS_SOCKETCALL, socketcallAccept4, uintptr(unsafe.Pointer(&args)), 0, 0, 0, 0)
	runtime.KeepAlive(&args)
	if err != nil {
		return -1, err
	}
	return int(nfd), nil
}
