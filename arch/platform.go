//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package arch

// Supported reports whether this platform has the signal handler that
// asynchronous suspension and the monitor's samples need: Linux on 386,
// amd64, arm with GOARM=7, arm64, loong64, ppc64le, riscv64 and s390x.
func Supported() bool { return true }
