package core

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/coopsuspend/coopsuspend/internal/seam"
)

// Notifier is the initiator's counting semaphore (Mono's suspend_semaphore)
// with the pending-operation accounting of docs/mono-protocol.md §4.3: the initiator
// adds one pending operation for every notification it must wait for, and
// Wait consumes that many posts.
//
// Invariant I14: at the beginning and the end of every stop (Balanced),
// nothing is pending and every post has been consumed by a wait.
//
// Posts come from any goroutine; Add, Cancel, Wait and Balanced are for
// the one initiator only, so pending and waits need no synchronisation.
//
// The waiter is woken once per wait, not once per post: it publishes in
// want the number of posts it needs, and only the post that reaches it
// kicks. Post adds to posts before it reads want, and Wait stores want
// before it reads posts; both are sequentially consistent, so either the
// post sees the waiter's want or the waiter sees the post.
type Notifier struct {
	// last is the thread whose arrival posted last (PostArrival); the
	// initiator clears it before a stop and reads it after the wait.
	last atomic.Pointer[Thread]

	posts   seam.Int64 // sync/atomic.Int64 outside the explorer (internal/seam)
	want    seam.Int64 // posts the waiter needs; MaxInt64 when it does not wait
	kick    seam.Token // a token when posts may have reached want
	pending int        // operations to wait for (initiator only)
	waits   int64      // posts consumed (initiator only)
}

// NewNotifier returns a Notifier with nothing pending.
func NewNotifier() *Notifier {
	n := &Notifier{kick: seam.NewToken("kick")}
	n.want.Store(math.MaxInt64)
	return n
}

// Post signals one completed operation: a thread stopped, resumed, or was
// interrupted.
func (n *Notifier) Post() {
	if n.posts.Add(1) >= n.want.Load() {
		n.kick.TryPut() // false: a token is already there
	}
}

// PostArrival is Post for a thread that has just reached its safepoint
// for the stop in progress: it also records the thread, so that the
// initiator can say who arrived last.
func (n *Notifier) PostArrival(t *Thread) {
	n.last.Store(t)
	n.Post()
}

// ClearArrivals forgets the last arrival; the initiator calls it before
// it requests anything.
func (n *Notifier) ClearArrivals() { n.last.Store(nil) }

// LastArrival returns the thread whose post came last since
// ClearArrivals, or nil. After a Wait that consumed every post, that is
// the thread the stop waited for longest.
func (n *Notifier) LastArrival() *Thread { return n.last.Load() }

// Add counts k more operations to wait for.
func (n *Notifier) Add(k int) { n.pending += k }

// Cancel forgets k pending operations whose posts will never come (their
// requests were rolled back before the threads acted on them).
func (n *Notifier) Cancel(k int) {
	if k > n.pending {
		panic(fmt.Sprintf("coopsuspend: internal error: cancelling %d of %d pending operations", k, n.pending))
	}
	n.pending -= k
}

// Pending returns the number of operations not yet waited for.
func (n *Notifier) Pending() int { return n.pending }

// Wait consumes one post for each pending operation, returning early with
// ctx's cause (context.Cause) if ctx is done first. Posts consumed before
// the error stay consumed; Pending reports what is left.
func (n *Notifier) Wait(ctx context.Context) error {
	defer n.want.Store(math.MaxInt64)
	for n.pending > 0 {
		n.want.Store(n.waits + int64(n.pending))
		if n.consume() {
			continue
		}
		if err := n.kick.TakeCtx(ctx); err != nil {
			// Consume what has arrived, so Pending is exact.
			n.consume()
			if n.pending == 0 {
				return nil
			}
			return context.Cause(ctx)
		}
	}
	return nil
}

// consume takes the posts that have arrived, up to what is pending, and
// reports whether there were any.
func (n *Notifier) consume() bool {
	got := n.posts.Load() - n.waits
	if got <= 0 {
		return false
	}
	k := min(got, int64(n.pending))
	n.waits += k
	n.pending -= int(k)
	return true
}

// Balanced checks I14: nothing pending and no post left unconsumed. A
// failure is a bug in the library, reported with the counts.
func (n *Notifier) Balanced() error {
	if posts := n.posts.Load(); n.pending != 0 || posts != n.waits {
		return fmt.Errorf("coopsuspend: internal error: pending operations out of balance "+
			"(I14): %d pending, %d posts, %d consumed", n.pending, posts, n.waits)
	}
	return nil
}
