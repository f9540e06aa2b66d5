package suspendtest

import (
	"errors"
	"testing"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// NewWorld returns a world made by suspend.NewWorld(opts...) for the
// length of a test, as httptest.NewServer does for a server. Where the
// policy cannot run on this platform (arch.ErrUnsupported) the test is
// skipped with a message that says so; any other error of NewWorld fails
// it at once.
//
// When the test and its subtests end, the world is closed. A Close that
// fails because threads are still attached, or because a stop was never
// restarted, fails the test with the names of the threads: an integration
// that leaks an attached guest, or a stopped world, is caught where it
// happens. Tests that close the world themselves are not reported.
func NewWorld(tb testing.TB, opts ...suspend.Option) *suspend.World {
	tb.Helper()
	w, err := suspend.NewWorld(opts...)
	if errors.Is(err, arch.ErrUnsupported) {
		tb.Skipf("this world cannot run on this platform: %v", err)
	}
	if err != nil {
		tb.Fatalf("suspend.NewWorld: %v", err)
	}
	tb.Cleanup(func() {
		if err := w.Close(); err != nil && !errors.Is(err, suspend.ErrClosed) {
			tb.Errorf("the world was left in use at the end of the test: %v", err)
		}
	})
	return w
}
