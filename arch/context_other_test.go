//go:build !linux || !(386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package arch

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestUnsupportedSaysSo: a platform without the handler does not claim
// one, Capture leaves no stale registers behind, and where no signal can
// carry a handler at all, ValidSignal's error wraps ErrUnsupported and
// names the platform.
func TestUnsupportedSaysSo(t *testing.T) {
	if Supported() {
		t.Fatal("Supported() on a platform built with context_other.go")
	}
	c := Context{PC: 1, SP: 2, FP: 3, LR: 4}
	Capture(&c)
	if c != (Context{}) {
		t.Errorf("Capture left %+v", c)
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "js" {
		platform := runtime.GOOS + "/" + runtime.GOARCH
		if err := ValidSignal(DefaultSignal); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), platform) {
			t.Errorf("ValidSignal: %v, want an error wrapping ErrUnsupported that names %s", err, platform)
		}
	}
}
