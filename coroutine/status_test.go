package coroutine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/coopsuspend/coopsuspend/coroutine"
)

// TestStateAgreesWithStatus: the status lives in one place, so every
// Outcome that Resume returns, a refused one included, holds the status
// Status() reports at that moment. (When it was stored twice, a Resume
// refused from inside the body returned an Outcome that said Ready while the
// coroutine was Running, and after a fast-path yield the stored copy lagged.)
func TestStateAgreesWithStatus(t *testing.T) {
	var c *coroutine.Coroutine[int, int, int]
	var inside coroutine.Outcome[int, int]
	var insideErr error
	var insideStatus coroutine.Status
	c = coroutine.New(func(s *coroutine.Suspender[int, int], p int) int {
		inside, insideErr = c.Resume(0)
		insideStatus = c.Status()
		for p < 3 {
			p = s.Yield(p)
		}
		return p
	})
	st, err := c.Resume(1)
	require.NoError(t, err)
	var te *coroutine.StatusError
	require.ErrorAs(t, insideErr, &te, "Resume from inside the body")
	assert.Equal(t, coroutine.Running, insideStatus)
	assert.Equal(t, coroutine.Running, inside.Status, "the refused Resume's Outcome")

	for p := 2; ; p++ {
		assert.Equal(t, c.Status(), st.Status, "after Resume(%d)", p-1)
		if st.Status.Finished() {
			break
		}
		assert.Equal(t, coroutine.Suspended, st.Status)
		st, err = c.Resume(p)
		require.NoError(t, err)
	}
	assert.Equal(t, coroutine.Complete, st.Status)
	assert.Equal(t, 3, st.Result)
	require.NoError(t, c.Close())
	again, err := c.Resume(9)
	require.NoError(t, err)
	assert.Equal(t, coroutine.Complete, again.Status, "a finished coroutine's Outcome, again")
}
