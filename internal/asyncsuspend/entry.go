//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"fmt"
	"runtime"
)

// Addresses the handler compares the interrupted pc with, set once at
// init and read by the assembly.
var (
	entryStart uintptr // first instruction of kernelEntry
	sysInsn    uintptr // kernelEntry's system-call instruction
)

// prevHandlers holds, by signal number, the handler each signal had
// before Install: every delivery ends with a jump to its signal's.
var prevHandlers [65]uintptr

func handlerAddr() uintptr
func kernelEntryAddr() uintptr

// codeByte reads one byte of the program's text (assembly: reading code
// through an unsafe.Pointer made from a uintptr is not a Go pattern).
func codeByte(addr uintptr) byte

func init() {
	entryStart = kernelEntryAddr()
	sysInsn = findSyscallInsn(entryStart)
}

// findSyscallInsn scans kernelEntry, a few instructions long, for its
// system-call instruction.
func findSyscallInsn(start uintptr) uintptr {
	fn := runtime.FuncForPC(start)
	for off := uintptr(0); off < 64; off += insnAlign {
		pc := start + off
		if f := runtime.FuncForPC(pc); f == nil || fn == nil || f.Entry() != fn.Entry() {
			break
		}
		match := true
		for i, b := range syscallInsnBytes {
			match = match && codeByte(pc+uintptr(i)) == b
		}
		if match {
			return pc
		}
	}
	panic(fmt.Sprintf("coopsuspend: internal error: no system-call instruction in kernelEntry at %#x", start))
}

// SyscallPC returns the address of the kernel entry's system-call
// instruction: the pc of a thread parked by the handler is this one (the
// call will restart) or the next instruction (it returned).
func SyscallPC() uintptr { return sysInsn }

// InKernelEntry reports whether pc is at the kernel entry's system call, as
// the handler requires to park.
func InKernelEntry(pc uintptr) bool { return pc == sysInsn || pc == sysInsn+syscallInsnLen }
