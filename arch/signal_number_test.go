//go:build !windows && !js

package arch

import (
	"syscall"
	"testing"
)

// TestValidSignal: SIGURG and the real-time signals that neither the C
// library nor Go reserves are accepted, the rest refused.
func TestValidSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGURG, 35, 62} {
		if err := ValidSignal(sig); err != nil {
			t.Errorf("%d: %v", sig, err)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGSEGV, syscall.SIGPROF, 32, 33, 34, 63, 64} {
		if err := ValidSignal(sig); err == nil {
			t.Errorf("signal %d accepted", sig)
		}
	}
}
