package suspend_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// TestPoliciesOnThisPlatform: coop stops a thread everywhere; hybrid and
// preemptive work where arch has the signal machinery and elsewhere fail
// from construction on, with an error that wraps arch.ErrUnsupported and
// names the platform, in CheckSignals, Attach and Stop alike.
func TestPoliciesOnThisPlatform(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p))
			if p == suspend.Coop || arch.Supported() {
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
				return
			}
			_, attachErr := w.Attach("guest")
			_, stopErr := w.Stop(context.Background())
			for name, err := range map[string]error{"CheckSignals": w.CheckSignals(), "Attach": attachErr, "Stop": stopErr} {
				if !errors.Is(err, arch.ErrUnsupported) || !strings.Contains(err.Error(), platform) {
					t.Errorf("%s in a %v world on %s: %v, want an error wrapping arch.ErrUnsupported that names the platform", name, p, platform, err)
				}
			}
		})
	}
}
