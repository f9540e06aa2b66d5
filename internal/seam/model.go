//go:build coopmodel

package seam

import (
	"context"
	"sync"
	"sync/atomic"
)

// The coopmodel build's seam: each operation starts with point(), which
// lets the explorer run another goroutine first when the caller is one
// the explorer runs, and then takes effect with nothing in between.
// Callers the explorer does not run get the direct operation.

// Uint32 is an atomic uint32 whose every operation is a scheduling point.
type Uint32 struct{ v atomic.Uint32 }

func (u *Uint32) Load() uint32        { point(); return u.v.Load() }
func (u *Uint32) Store(x uint32)      { point(); u.v.Store(x) }
func (u *Uint32) Add(d uint32) uint32 { point(); return u.v.Add(d) }
func (u *Uint32) CompareAndSwap(old, new uint32) bool {
	point()
	return u.v.CompareAndSwap(old, new)
}

// Int64 is an atomic int64 whose every operation is a scheduling point.
type Int64 struct{ v atomic.Int64 }

func (i *Int64) Load() int64       { point(); return i.v.Load() }
func (i *Int64) Store(x int64)     { point(); i.v.Store(x) }
func (i *Int64) Add(d int64) int64 { point(); return i.v.Add(d) }

// RWMutex is a readers-writer lock. Under the explorer its state is two
// plain fields (only one goroutine runs at a time) and a goroutine that
// cannot take it is parked by the scheduler; otherwise it is real.
type RWMutex struct {
	real    sync.RWMutex
	writer  bool
	readers int
}

func (m *RWMutex) Lock() {
	if p := point(); p != nil {
		p.block(func() bool { return !m.writer && m.readers == 0 }, false, "RWMutex.Lock")
		m.writer = true
		return
	}
	m.real.Lock()
}

func (m *RWMutex) Unlock() {
	if p := point(); p != nil {
		if !m.writer {
			panic("seam: Unlock of an RWMutex not locked for writing")
		}
		m.writer = false
		return
	}
	m.real.Unlock()
}

func (m *RWMutex) RLock() {
	if p := point(); p != nil {
		p.block(func() bool { return !m.writer }, false, "RWMutex.RLock")
		m.readers++
		return
	}
	m.real.RLock()
}

func (m *RWMutex) RUnlock() {
	if p := point(); p != nil {
		if m.readers == 0 {
			panic("seam: RUnlock of an RWMutex not locked for reading")
		}
		m.readers--
		return
	}
	m.real.RUnlock()
}

// Token is a binary semaphore (see direct.go). Under the explorer a
// goroutine that would block on it is parked by the scheduler until the
// operation can complete; the channel is only ever used without
// blocking there.
type Token = *token

type token struct {
	c    chan struct{}
	what string
}

// NewToken returns an empty Token; during an exploration the run keeps
// it, so that its end-of-run checks can find tokens left behind.
func NewToken(what string) Token {
	t := &token{c: make(chan struct{}, 1), what: what}
	if r := active.Load(); r != nil {
		r.tokensMu.Lock()
		r.tokens = append(r.tokens, t)
		r.tokensMu.Unlock()
	}
	return t
}

func (t *token) full() bool { return len(t.c) == 1 }

func (t *token) TryPut() bool {
	if p := point(); p != nil {
		if t.full() {
			return false
		}
		t.c <- struct{}{}
		return true
	}
	select {
	case t.c <- struct{}{}:
		return true
	default:
		return false
	}
}

func (t *token) Put(ctx context.Context) error {
	p := point()
	if p == nil {
		select {
		case t.c <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	free := func() bool { return !t.full() }
	p.block(func() bool { return free() || ctx.Err() != nil }, p.run.timed(ctx), "Put("+t.what+")")
	if free() && (ctx.Err() == nil || p.run.choose(2, "Put("+t.what+"): free and ctx done") == 0) {
		t.c <- struct{}{}
		return nil
	}
	return ctx.Err()
}

func (t *token) Take() {
	if p := point(); p != nil {
		p.block(t.full, false, "Take("+t.what+")")
		<-t.c
		return
	}
	<-t.c
}

func (t *token) TakeCtx(ctx context.Context) error {
	p := point()
	if p == nil {
		select {
		case <-t.c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.block(func() bool { return t.full() || ctx.Err() != nil }, p.run.timed(ctx), "TakeCtx("+t.what+")")
	if t.full() && (ctx.Err() == nil || p.run.choose(2, "TakeCtx("+t.what+"): token and ctx done") == 0) {
		<-t.c
		return nil
	}
	return ctx.Err()
}

// Sema is a resume semaphore (see direct.go): a Token made by whichever
// side first needs it. Under the explorer the publishing
// compare-and-swap is a scheduling point, so both orders of a first park
// and a first post are explored.
type Sema struct {
	p    atomic.Pointer[token]
	what string
}

func (s *Sema) Init(what string) { s.what = what }

func (s *Sema) token() Token {
	point()
	if t := s.p.Load(); t != nil {
		return t
	}
	t := NewToken(s.what)
	if s.p.CompareAndSwap(nil, t) {
		return t
	}
	return s.p.Load()
}

func (s *Sema) TryPost() bool { return s.token().TryPut() }
func (s *Sema) Wait()         { s.token().Take() }

// Point is a scheduling point without an operation.
func Point() { point() }
