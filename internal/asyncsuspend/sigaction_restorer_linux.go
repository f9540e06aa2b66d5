//go:build linux && (386 || amd64 || arm.7 || arm64 || ppc64le || s390x)

package asyncsuspend

// sigaction is the kernel's struct sigaction as rt_sigaction takes it on
// architectures that define SA_RESTORER (Go's sigactiont in
// runtime/defs_linux_GOARCH.go): the handler, flags as an unsigned long,
// the restorer, and a 64-bit mask (TestSigactionLayout).
type sigaction struct {
	handler  uintptr
	flags    uintptr
	restorer uintptr
	mask     uint64
}
