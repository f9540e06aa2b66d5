//go:build !coopmodel

package seam

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Uint32 is the state word's atomic: sync/atomic's own type.
type Uint32 = atomic.Uint32

// Int64 is the notifier's counter: sync/atomic's own type.
type Int64 = atomic.Int64

// RWMutex is the world's registry mutex: sync's own type.
type RWMutex = sync.RWMutex

// Token is a binary semaphore: a channel of capacity one holding at most
// one token. The suspend lock is held by whoever put the token in; the
// notifier's kick holds a wake-up until it is taken. (A thread's resume
// semaphore is a Sema, which needs no channel.)
type Token chan struct{}

// NewToken returns an empty Token. what names its role ("kick",
// "lock") for the explorer's end-of-run checks; a normal build
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

// Sema is a thread's resume semaphore: a Token (a channel of capacity
// one) that is made by whichever side first needs it, the thread about to
// park or the initiator posting, so that a thread that never parks (one
// that waits in a blocking region, as most threads of a large runtime do)
// costs no channel: 96 bytes and one object fewer for the collector, a
// third of what such a thread costs.
//
// A channel rather than a semaphore held inside the thread (a WaitGroup
// or a mutex used as one, which need no allocation at all): waking a
// goroutine through sync's semaphores took 1.3-1.4x as long as through a
// channel, and a stop of 8 or 64 polling threads 1.2-1.3x as long
// (docs/benchmarks.md, "Memory").
//
// c holds the channel once made; the compare-and-swap that publishes it
// orders the make before any use on either side, and a side that loses
// the race uses the winner's.
type Sema struct {
	c unsafe.Pointer // chan struct{}, or nil until made
}

// Init makes s empty. what names its role, as for NewToken. Call it once,
// before s is shared.
func (s *Sema) Init(what string) {}

func (s *Sema) token() Token {
	if p := atomic.LoadPointer(&s.c); p != nil {
		return *(*Token)(unsafe.Pointer(&p))
	}
	t := NewToken("")
	if atomic.CompareAndSwapPointer(&s.c, nil, *(*unsafe.Pointer)(unsafe.Pointer(&t))) {
		return t
	}
	p := atomic.LoadPointer(&s.c)
	return *(*Token)(unsafe.Pointer(&p))
}

// TryPost puts the token in if s is empty and reports whether it did.
func (s *Sema) TryPost() bool { return s.token().TryPut() }

// Wait waits for the token and takes it.
func (s *Sema) Wait() { s.token().Take() }
