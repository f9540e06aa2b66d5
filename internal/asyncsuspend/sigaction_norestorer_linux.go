//go:build linux && (loong64 || riscv64)

package asyncsuspend

// sigaction is the kernel's struct sigaction as rt_sigaction takes it on
// architectures without SA_RESTORER (asm-generic; Go's sigactiont in
// runtime/defs_linux_GOARCH.go declares a restorer after the mask only
// for its own code's sake): the handler, flags as an unsigned long, and
// a 64-bit mask (TestSigactionLayout). The kernel's signal return
// trampoline is in the vDSO.
type sigaction struct {
	handler uintptr
	flags   uintptr
	mask    uint64
}
