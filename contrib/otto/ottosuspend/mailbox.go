package ottosuspend

import (
	"reflect"
	"sync"
	"weak"
)

// mailbox is what otto reads at every node, and what everyone who wants
// the guest's goroutine to run something writes to.
//
// ch is the VM's Interrupt channel while the guest is attached. It holds
// the guest's services (a func that polls, then runs the queue) and the
// funcs an embedder sends to vm.Interrupt directly. The nudge of a
// request, the forwarder of the embedder's own channel and
// Guest.Interrupt all go through offer, which never blocks and returns
// only once a service is in ch: so a service received after any offer
// polls after it, and sees the request that the nudge was for.
//
// The mailbox does not hold its guest strongly (the service looks it up
// through a weak pointer), so that the forwarder goroutine and the
// thread's OnRequest function, which hold the mailbox, never keep an
// abandoned guest, and so its thread, alive.
type mailbox struct {
	ch      chan func()
	service func()

	mu     sync.Mutex
	queue  []func() // the embedder's funcs, run by the service after its poll
	closed bool     // drained at Detach: nothing runs the queue any more
}

// mailboxRoom is the capacity of a guest's channel: room for the funcs an
// embedder sends on vm.Interrupt itself, so that a nudge seldom has to
// move one out of the way (which may let a later one run before it).
const mailboxRoom = 16

func newMailbox(g weak.Pointer[Guest]) *mailbox {
	return &mailbox{ch: make(chan func(), mailboxRoom), service: serviceFor(g)}
}

// serviceFor returns the func a guest's mailbox sends on its channel.
// Every service is this one func literal, so isService recognises one by
// its code pointer; not inlined, so that the literal stays one.
//
//go:noinline
func serviceFor(g weak.Pointer[Guest]) func() {
	return func() {
		if g := g.Value(); g != nil {
			g.serve()
		}
	}
}

// servicePC is the code pointer every service shares.
var servicePC uintptr

func init() {
	servicePC = reflect.ValueOf(serviceFor(weak.Pointer[Guest]{})).Pointer()
}

// isService reports whether f is a guest's service rather than a func of
// the embedder's.
func isService(f func()) bool {
	return f != nil && reflect.ValueOf(f).Pointer() == servicePC
}

// offer puts a service in ch, making room if the embedder's funcs fill
// it: the oldest is moved to the queue, which the service runs right
// after its poll (a service found there is the same as ours, and
// dropped). A func sent on ch after that one may then run before it:
// otto may take it from ch while the moved one waits for the service. It
// never blocks, so it may run on an initiator's goroutine under the
// world's suspend lock (the nudge of suspend.OnRequest). It ends: each
// turn either sends, or takes out a func some other goroutine sent, or
// finds that otto took it.
func (mb *mailbox) offer() {
	for {
		select {
		case mb.ch <- mb.service:
			return
		default:
		}
		select {
		case f := <-mb.ch:
			if !isService(f) {
				mb.push(f) // a nudge comes only while the guest is attached: the mailbox is open
			}
		default: // otto took it meanwhile: send again
		}
	}
}

// push queues an embedder's func for the next service; false once the
// mailbox is drained.
func (mb *mailbox) push(f func()) bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed {
		return false
	}
	mb.queue = append(mb.queue, f)
	return true
}

// pop takes the oldest queued func.
func (mb *mailbox) pop() (func(), bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if len(mb.queue) == 0 {
		return nil, false
	}
	f := mb.queue[0]
	mb.queue[0] = nil
	mb.queue = mb.queue[1:]
	return f, true
}

func (mb *mailbox) pending() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return len(mb.queue) > 0
}

// runQueued runs the queued funcs, oldest first, on the VM's goroutine,
// as otto runs a func it receives from Interrupt.
func (mb *mailbox) runQueued() {
	for {
		f, ok := mb.pop()
		if !ok {
			return
		}
		mb.run(f)
	}
}

// run runs one queued func. If it panics (an embedder's halt, as in
// otto's documentation) the panic goes on through otto as it would
// without the adapter, and the funcs behind it wait for the next node.
func (mb *mailbox) run(f func()) {
	returned := false
	defer func() {
		if !returned && mb.pending() {
			mb.offer()
		}
	}()
	f()
	returned = true
}

// drain empties the mailbox at Detach and returns the embedder's funcs
// that have not run, the queued ones first, services left out. Nothing
// can be queued after it.
func (mb *mailbox) drain() []func() {
	mb.mu.Lock()
	out := mb.queue
	mb.queue = nil
	mb.closed = true
	mb.mu.Unlock()
	for _, f := range drainChan(mb.ch) {
		if !isService(f) {
			out = append(out, f)
		}
	}
	return out
}

// drainChan takes the funcs waiting in ch, without blocking.
func drainChan(ch chan func()) []func() {
	var out []func()
	for {
		select {
		case f, ok := <-ch:
			if !ok { // closed
				return out
			}
			out = append(out, f)
		default:
			return out
		}
	}
}

// forwarder moves the funcs sent on the embedder's own Interrupt channel
// to the guest's mailbox, while the guest is attached. It holds the
// mailbox, not the guest.
type forwarder struct {
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func startForwarder(mb *mailbox, from chan func()) *forwarder {
	f := &forwarder{quit: make(chan struct{}), done: make(chan struct{})}
	go f.run(mb, from)
	return f
}

func (f *forwarder) run(mb *mailbox, from chan func()) {
	defer close(f.done)
	for {
		select {
		case fn, ok := <-from:
			if !ok {
				// A closed channel: otto would call a nil func at every
				// node and panic. Nothing more will come.
				return
			}
			if !mb.push(fn) { // cannot happen: Detach stops the forwarder first
				return
			}
			mb.offer()
		case <-f.quit:
			return
		}
	}
}

// signal asks the forwarder to end, without waiting: it is also the
// cleanup of a guest the garbage collector found abandoned.
func (f *forwarder) signal() {
	f.stopOnce.Do(func() { close(f.quit) })
}

// stop ends the forwarder and waits for it.
func (f *forwarder) stop() {
	f.signal()
	<-f.done
}

// giveBack sends the funcs to the embedder's channel, in order: at once
// if it has room, and otherwise from a goroutine that waits until otto
// takes them, as the embedder's own senders would have waited. Without a
// channel they are dropped: nothing would ever run them.
func giveBack(to chan func(), fs []func()) {
	if to == nil {
		return
	}
	for i, f := range fs {
		select {
		case to <- f:
			continue
		default:
		}
		rest := fs[i:]
		go func() {
			for _, f := range rest {
				to <- f
			}
		}()
		return
	}
}
