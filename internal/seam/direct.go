//go:build !coopmodel

package seam

import (
	"context"
	"sync"
	"sync/atomic"
)

// Uint32 is the state word's atomic: sync/atomic's own type.
type Uint32 = atomic.Uint32

// Int64 is the notifier's counter: sync/atomic's own type.
type Int64 = atomic.Int64

// RWMutex is the world's registry mutex: sync's own type.
type RWMutex = sync.RWMutex

// Token is a binary semaphore: a channel of capacity one holding at most
// one token. The suspend lock is held by whoever put the token in; a
// resume semaphore and the notifier's kick hold a wake-up until it is
// taken.
type Token chan struct{}

// NewToken returns an empty Token. what names its role ("resume",
// "kick", "lock") for the explorer's end-of-run checks; a normal build
// ignores it.
func NewToken(what string) Token { return make(Token, 1) }

// TryPut puts the token in if the semaphore is empty and reports whether
// it did.
func (t Token) TryPut() bool {
	select {
	case t <- struct{}{}:
		return true
	default:
		return false
	}
}

// Put puts the token in, waiting for the semaphore to empty, or returns
// ctx.Err() if ctx is done first.
func (t Token) Put(ctx context.Context) error {
	select {
	case t <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Take waits for the token and takes it.
func (t Token) Take() { <-t }

// TakeCtx waits for the token and takes it, or returns ctx.Err() if ctx
// is done first.
func (t Token) TakeCtx(ctx context.Context) error {
	select {
	case <-t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Point is a scheduling point without an operation: the explorer may
// run another goroutine here. It lets a test's own code (a guest's work
// between polls) be interleaved with the library's; it is nothing in a
// normal build.
func Point() {}
