//go:build linux

// Package rawcaller is a caller of safepoint.Syscall6 for
// TestSyscall6UintptrEscapes: it passes a local buffer's address the way
// Syscall6's documentation says, and the compiler must move the buffer to
// the heap for it.
package rawcaller

import (
	"syscall"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// Read8 reads up to 8 bytes from fd into a local buffer through
// safepoint.Syscall6 and returns them.
func Read8(t *suspend.Thread, fd int) ([]byte, error) {
	var buf [8]byte
	n, _, err := safepoint.Syscall6(t, syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), buf[:n]...), nil
}
