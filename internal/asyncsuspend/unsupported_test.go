//go:build !linux || !(386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
)

// TestUnsupportedSaysSo: where there is no handler, everything that needs
// it fails with an error wrapping arch.ErrUnsupported that names the platform,
// and nothing claims to work.
func TestUnsupportedSaysSo(t *testing.T) {
	if arch.Supported() {
		t.Fatal("arch.Supported() on a platform built with unsupported.go")
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	var r Record
	_, suspendErr := r.SuspendAsync(t.Context(), arch.DefaultSignal)
	_, sampleErr := r.Sample(arch.DefaultSignal)
	_, afterErr := r.SampleAfter(arch.DefaultSignal, time.Millisecond)
	rec, registerErr := Register(1)
	if rec != nil {
		t.Errorf("Register returned a record: %+v", rec)
	}
	for name, err := range map[string]error{
		"Install":      Install(arch.DefaultSignal),
		"Installed":    Installed(arch.DefaultSignal),
		"Register":     registerErr,
		"SuspendAsync": suspendErr,
		"Sample":       sampleErr,
		"SampleAfter":  afterErr,
		"Interrupt":    r.Interrupt(arch.DefaultSignal),
	} {
		if !errors.Is(err, arch.ErrUnsupported) || !strings.Contains(err.Error(), platform) {
			t.Errorf("%s: %v, want an error wrapping arch.ErrUnsupported that names %s", name, err, platform)
		}
	}
	if InKernelEntry(SyscallPC()) || RecordOf(Gettid()) != nil || r.TakeInterrupt() || r.InWrapper() {
		t.Error("a platform without the handler reports a kernel entry, a record or an interrupt")
	}
}
