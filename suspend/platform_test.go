package suspend_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// TestPoliciesOnThisPlatform: coop stops a thread everywhere; hybrid and
// preemptive work where arch has the signal machinery, and elsewhere
// NewWorld refuses them with an error that wraps arch.ErrUnsupported and
// names the platform.
func TestPoliciesOnThisPlatform(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			if p != suspend.Coop && !arch.Supported() {
				w, err := suspend.NewWorld(suspend.WithPolicy(p))
				if w != nil || !errors.Is(err, arch.ErrUnsupported) || !strings.Contains(err.Error(), platform) {
					t.Errorf("NewWorld(%v) on %s: %v, %v; want no world and an error wrapping arch.ErrUnsupported that names the platform", p, platform, w, err)
				}
				return
			}
			w := newWorld(t, suspend.WithPolicy(p))
			if err := w.CheckSignals(); err != nil {
				t.Fatal(err)
			}
			ps := startPollers(t, w, 1)
			defer ps.stop()
			s := stopWorld(t, w)
			if len(s.Threads()) != 1 || !s.Threads()[0].Parked {
				t.Errorf("stopped: %+v", s.Threads())
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
