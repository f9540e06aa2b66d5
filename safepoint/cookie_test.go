package safepoint_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/coopsuspend/coopsuspend/internal/testutil"
	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// TestExitUnsafeWithAnotherThreadsCookie: ExitUnsafe with a Cookie that is
// not the thread's own (another thread's, or the zero Cookie) panics with
// a *threadstate.TransitionError that names the call, the thread, its word
// and where the cookie came from, and changes nothing: the thread goes on
// and its world stops and restarts.
func TestExitUnsafeWithAnotherThreadsCookie(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	lender := make(chan safepoint.Cookie)
	done := make(chan struct{})
	go func() {
		defer close(done)
		th, err := w.Attach("lender")
		if !assert.NoError(t, err) {
			close(lender)
			return
		}
		// A cookie that re-enters a region: taken inside one.
		safepoint.Blocking(th, func() {
			c := safepoint.EnterUnsafe(th)
			lender <- c
			<-lender
			safepoint.ExitUnsafe(th, c)
		})
		assert.NoError(t, th.Detach())
	}()
	foreign, ok := <-lender
	require.True(t, ok, "the lender did not attach")
	// The lender waits in GC-unsafe code (between its EnterUnsafe and
	// ExitUnsafe), where a stop would wait for it: release it first.
	released := false
	release := func() {
		if !released {
			released = true
			lender <- safepoint.Cookie{}
			<-done
		}
	}
	defer release()

	borrower, err := w.Attach("borrower")
	require.NoError(t, err)
	defer func() { require.NoError(t, borrower.Detach()) }()

	for _, tc := range []struct {
		name      string
		cookie    safepoint.Cookie
		reason    string
		wantEvent bool
	}{
		{"another thread's cookie", foreign, `came from EnterUnsafe on thread "lender"`, true},
		{"the zero cookie", safepoint.Cookie{}, "zero Cookie did not come from EnterUnsafe", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := borrower.Word()
			p := testutil.Catch(func() { safepoint.ExitUnsafe(borrower, tc.cookie) })
			err, isErr := p.(error)
			require.True(t, isErr, "ExitUnsafe did not panic with an error: %v", p)
			var te *threadstate.TransitionError
			require.True(t, errors.As(err, &te), "%T is not a *threadstate.TransitionError", err)
			assert.Equal(t, "ExitUnsafe", te.Call)
			assert.Equal(t, "borrower", te.Thread)
			assert.Equal(t, before, te.Word)
			assert.Contains(t, err.Error(), `thread "borrower": ExitUnsafe refused in RUNNING`)
			assert.Contains(t, te.Reason, tc.reason)
			if tc.wantEvent {
				assert.Equal(t, threadstate.DoBlocking, te.Event)
			}
			assert.Equal(t, before, borrower.Word(), "a refused ExitUnsafe changed the word")
		})
	}
	release()
	safepoint.Poll(borrower)
	s, err := w.Stop(context.Background(), suspend.By(borrower))
	require.NoError(t, err)
	require.NoError(t, s.Restart())
}
