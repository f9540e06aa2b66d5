package suspend_test

import (
	"context"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// TestCloseRefusesAWorldInUse: Close fails with ErrInUse, naming the
// attached threads, and changes nothing: the world stops and restarts as
// before. Once the threads have detached it closes, and from then on every
// call fails with ErrClosed, a second Close included.
func TestCloseRefusesAWorldInUse(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p))
			ps := startPollers(t, w, 2)
			err := w.Close()
			require.ErrorIs(t, err, suspend.ErrInUse)
			assert.Contains(t, err.Error(), "poller-0")
			assert.Contains(t, err.Error(), "poller-1")
			require.NoError(t, w.CheckSignals(), "a refused Close changed the world")
			require.NoError(t, stopWorld(t, w).Restart())
			ps.stop()

			require.NoError(t, w.Close())
			_, err = w.Attach("late")
			assert.ErrorIs(t, err, suspend.ErrClosed, "Attach after Close")
			_, err = w.Stop(context.Background())
			assert.ErrorIs(t, err, suspend.ErrClosed, "Stop after Close")
			assert.ErrorIs(t, w.CheckSignals(), suspend.ErrClosed, "CheckSignals after Close")
			assert.ErrorIs(t, w.Close(), suspend.ErrClosed, "a second Close")
		})
	}
}

// TestCloseDuringAStopIsRefused: a stop holds the world until its Restart;
// Close does not wait for it (the caller may be the stop's own holder) but
// fails at once, saying who holds the world.
func TestCloseDuringAStopIsRefused(t *testing.T) {
	w := newWorld(t)
	s := stopWorld(t, w)
	withinHere(t, "Close during a stop", func() {
		err := w.Close()
		require.ErrorIs(t, err, suspend.ErrInUse)
		assert.Contains(t, err.Error(), "Stop by an unattached goroutine")
	})
	require.NoError(t, s.Restart())
	require.NoError(t, w.Close())
}

// TestCloseForgetsThreadsThatEnded: a goroutine that ended without Detach
// does not keep its world open once the collector has found its thread
// unreachable (coop: the registry's weak pointer) or its OS thread gone
// (hybrid and preemptive, where the goroutine was locked to it).
func TestCloseForgetsThreadsThatEnded(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p))
			done := make(chan error)
			go func() {
				_, err := w.Attach("quitter")
				done <- err
			}()
			require.NoError(t, <-done)
			// Two cycles: the first finds the thread unreachable, the weak
			// pointer reads nil from then on.
			runtime.GC()
			runtime.GC()
			require.NoError(t, w.Close())
			assert.EqualValues(t, 1, w.Stats().Abandoned)
		})
	}
}

// TestCloseGivesTheSignalBack: installs of the signal handler are counted
// across worlds; the last world's Close puts Go's handler back, an earlier
// one leaves it for the worlds still open. A signal no other test uses
// keeps the count this test's own.
func TestCloseGivesTheSignalBack(t *testing.T) {
	if !arch.Supported() {
		t.Skipf("no asynchronous suspension on %s/%s: no handler to give back", runtime.GOOS, runtime.GOARCH)
	}
	const sig = syscall.Signal(40)
	require.Error(t, asyncsuspend.Installed(sig), "signal %d carries the handler before the test", sig)
	a := newWorld(t, suspend.WithPolicy(suspend.Hybrid), suspend.WithSignal(sig))
	b := newWorld(t, suspend.WithPolicy(suspend.Preemptive), suspend.WithSignal(sig))
	require.NoError(t, asyncsuspend.Installed(sig))

	require.NoError(t, a.Close())
	require.NoError(t, b.CheckSignals(), "closing one world took the handler from another")
	testutil.OnThreadNoDetach(t, b, "reader", func(th *suspend.Thread) { assert.NoError(t, th.Detach()) })

	require.NoError(t, b.Close())
	err := asyncsuspend.Installed(sig)
	require.Error(t, err, "the last Close left the handler installed")
	assert.True(t, strings.Contains(err.Error(), "not installed"), "%v", err)
}

// TestAttachRacingCloseNeverJoinsAClosedWorld: an Attach that passed its
// first check before a Close took the suspend lock fails with ErrClosed,
// and leaves nothing registered, locked or claimed: the goroutine can
// attach to another world at once. The test hook puts the Close exactly
// in that window, after the thread is registered and before the Attach
// takes the lock, for each policy.
func TestAttachRacingCloseNeverJoinsAClosedWorld(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, suspend.WithPolicy(p))
			other := newWorld(t, suspend.WithPolicy(p))
			var closeErr error
			suspend.SetTestHook(func(op, phase string) {
				if op == "Attach" && phase == "attached" {
					closeErr = w.Close()
				}
			})
			defer suspend.SetTestHook(nil)
			onGoroutine(t, func() {
				_, err := w.Attach("racer")
				suspend.SetTestHook(nil)
				assert.NoError(t, closeErr, "Close inside the Attach's window")
				assert.ErrorIs(t, err, suspend.ErrClosed)
				th, err := other.Attach("racer") // nothing of the first Attach is left
				if assert.NoError(t, err) {
					assert.NoError(t, th.Detach())
				}
			})
		})
	}
}

// onGoroutine runs fn on a goroutine of its own (so that a failed Attach
// under hybrid leaves the test's goroutine alone) and waits for it. fn
// reports with assert, never require: FailNow belongs to the test's
// goroutine.
func onGoroutine(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}
