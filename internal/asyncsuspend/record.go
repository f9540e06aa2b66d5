//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
)

// Record is one thread's mailbox with the signal handler. The handler
// finds it by the thread's OS id, so a thread must stay on its OS thread
// (runtime.LockOSThread) while its record is registered.
//
// Who writes what:
//
//   - request: the initiator sets Suspend or Sample before signalling; the
//     handler takes it (CAS to Taken) and sets it back to None.
//   - ack: the initiator clears it before a request; the handler answers
//     Parked, Declined, Sampled, and Resumed after a park.
//   - release: the initiator sets it to let a parked handler go; the
//     handler clears it on its way out.
//   - inWrapper: kernelEntry's assembly, set on entry and cleared when the
//     system call returns.
//   - tid: register, under tableMu, atomically (a late handler may read
//     it); the handler acts on a record only if its tid is its own
//     thread's (see register).
//   - interrupt: the initiator (Interrupt) sets it; the wrapper's caller
//     clears it when the call returns.
//   - buf: the initiator, holding busy: it attaches a register buffer
//     before it posts a request and detaches it once the handler can no
//     longer write it. The handler only reads the pointer, and writes the
//     interrupted registers into the buffer it points to.
//   - view: the initiator sets its park flag after a park and clears it
//     when the resume begins; each Context counts itself in and out.
//
// Why the registers are not in the record: records are never freed (a
// late signal's handler may still look one up, see free), so whatever a
// record holds, each OS thread that was ever attached keeps. Only a
// request in flight needs the registers, a sample until it is decoded
// and a park until its release; a buffer from regsPool is attached for
// that time only, and the record stays at one small size class on every
// architecture (TestRecordSize).
//
// When a buffer may go back to the pool: the handler loads buf only after
// its compare-and-swap has taken the request, and the initiator detaches
// the buffer only after that request can no longer be taken or has been
// answered: askBy withdrew it (its own CAS from the request to None won,
// so no handler will ever take it), or the handler acknowledged Declined
// (it wrote nothing), Sampled (it wrote everything before the ack), or
// Resumed after a park (it wrote everything before Parked). A late signal
// (one whose request was withdrawn, or Go's own SIGURG) finds the request
// None and leaves without loading buf; if the initiator has meanwhile
// posted a new request, the late signal answers that one, in that
// request's buffer, as the signal asked for would have. So a returned
// buffer is never written by a handler, and the one a handler writes is
// always the one attached to the request it took.
//
// One request at a time: request and ack are a single mailbox, so asking
// holds busy, and a park holds it until ResumeAsync. A stop and a
// monitor's sample of the same thread therefore never mix their answers.
//
// The layout of the fields before busy is fixed: the assembly reads them
// through record.h.
type Record struct {
	request   uint32
	ack       uint32
	release   uint32
	inWrapper uint32
	interrupt uint32
	tid       int32
	buf       atomic.Pointer[[rawWords]uintptr]

	busy sync.Mutex // Go side only

	// view is viewParked while a park's buffer may be read, plus
	// viewReader for each Context reading it. Context does not hold busy
	// (the park does), so it races ResumeAsync, which clears viewParked
	// and waits for the readers to leave before it detaches the buffer:
	// a reader never sees a buffer that another record's request has.
	view uint32

	// owner is the goroutine that registered the record, and replaced
	// says a later Register of the same OS thread by another goroutine
	// took its table slot: the owner had ended while locked to the
	// thread, the thread died with it, and the kernel gave its id to a
	// new thread. Both are guarded by tableMu.
	owner    uint64
	replaced bool
}

const (
	viewParked = 1
	viewReader = 2
)

// regsPool holds the register buffers of requests no longer in flight.
// A sync.Pool rather than a free list of the package's own: a stop parks
// every thread that is in a wrapped system call at once, so the buffers
// in flight peak at the number of attached threads, and a free list would
// keep that peak for good, the per-thread cost this pool exists to
// remove. The pool keeps them across one collection (its victim cache)
// and then lets them go, and between collections it hands them out from
// per-P caches without a lock. The buffers hold no pointers (the
// registers are words to the collector), so an idle one costs the
// collector nothing to scan.
var regsPool = sync.Pool{New: func() any { return new([rawWords]uintptr) }}

const (
	reqNone    = 0
	reqSuspend = 1
	reqSample  = 2
	reqTaken   = 3

	ackNone     = 0
	ackParked   = 1
	ackDeclined = 2
	ackSampled  = 3
	ackResumed  = 4

	tableSize = 4096
)

// slot is one entry of the table the handler searches: open addressing by
// tid, linear probing, stopping at a never-used slot. A freed slot keeps
// tid tombstone so that chains stay intact.
//
// A slot is 16 bytes on every machine, with rec in its last word: at 8
// on 64-bit machines, at 12 on 32-bit ones.
type slot struct {
	tid uint32
	_   [12 - unsafe.Sizeof(uintptr(0))]byte
	rec *Record
}

const tombstone = ^uint32(0)

var (
	// table is read by the handler (assembly) without locks: a slot's
	// record is published before its tid.
	table [tableSize]slot

	tableMu sync.Mutex
	// free holds unregistered records for reuse. Records are never
	// freed: a late signal may still be looking at one.
	free []*Record
	used int
)

// Register creates the record of the calling thread, which must be locked
// to its OS thread, and publishes it to the handler. owner identifies the
// calling goroutine (internal/goid). If the thread has a record already,
// Register fails with ErrRegistered when that record is the same
// goroutine's; a record of another goroutine is stale (a goroutine that
// is locked to its thread cannot share it, so that one has ended, and
// the thread with it, and the kernel reused the id): the new record takes
// its slot and the old one is marked replaced.
func Register(owner uint64) (*Record, error) {
	return register(uint32(Gettid()), owner)
}

// Thread ids are reused: the kernel gives an ended thread's id to a new
// thread (at once in a PID namespace whose last pid is set, after
// pid_max ids otherwise). The handler finds a record by the id of the
// thread it runs on, so the table keeps two invariants under reuse, both
// under tableMu:
//
//   - A tid is in at most one slot. A registration whose tid is already
//     in the table (its record stale) takes that very slot, so a later
//     lookup cannot find an older slot of the same tid first.
//   - A slot's record belongs to the slot's tid: a record leaves its slot
//     (a tombstone, or the new record of a reuse) before it goes to the
//     free list, where another thread's registration may take it.
//
// A handler may still hold a record it loaded just before such a change,
// so it checks two things itself before it acts: the record's tid is its
// own thread's (a record reused for another thread is not), and, before
// it parks or interrupts the thread, that the thread is in kernelEntry
// with this record (the register or stack slot that carries the record
// through the entry holds it): a stale record of the same tid, or a
// thread in the entry on behalf of another world's record, is declined.

// register is Register for the thread tid.
func register(tid uint32, owner uint64) (*Record, error) {
	tableMu.Lock()
	defer tableMu.Unlock()
	at, old := find(tid)
	if old != nil && old.owner == owner {
		return nil, fmt.Errorf("%w (tid %d)", ErrRegistered, tid)
	}
	if old == nil && used >= tableSize*3/4 {
		return nil, fmt.Errorf("%w (%d threads registered)", arch.ErrTableFull, used)
	}
	var r *Record
	if n := len(free); n > 0 {
		r, free = free[n-1], free[:n-1]
		r.reset()
	} else {
		r = new(Record)
	}
	atomic.StoreInt32(&r.tid, int32(tid))
	r.owner = owner
	if old != nil {
		// The stale record gives up its slot in place; its Unregister
		// only frees it.
		old.replaced = true
		atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(&table[at].rec)), unsafe.Pointer(r))
		return r, nil
	}
	// loopcheck:ok at most tableSize probes: tableMu is held and the table is never over 3/4 full.
	for i := tid % tableSize; ; i = (i + 1) % tableSize {
		s := &table[i]
		if t := atomic.LoadUint32(&s.tid); t == 0 || t == tombstone {
			atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(&s.rec)), unsafe.Pointer(r))
			atomic.StoreUint32(&s.tid, tid)
			break
		}
	}
	used++
	return r, nil
}

// Unregister removes the record from the table. Call it on the record's
// thread, before unlocking it from its OS thread, or from any goroutine
// once the record's owner has ended; a record whose slot a new thread
// took (see Register) is only freed.
func (r *Record) Unregister() {
	tid := uint32(r.Tid())
	tableMu.Lock()
	defer tableMu.Unlock()
	if r.replaced {
		r.replaced = false
		free = append(free, r)
		return
	}
	if at, rec := find(tid); rec == r {
		atomic.StoreUint32(&table[at].tid, tombstone)
		used--
		free = append(free, r)
		return
	}
	panic(fmt.Sprintf("coopsuspend: internal error: record of tid %d is not registered", tid))
}

// find returns the slot that holds tid, and its record, or nil.
func find(tid uint32) (int, *Record) {
	for i, n := tid%tableSize, 0; n < tableSize; i, n = (i+1)%tableSize, n+1 {
		s := &table[i]
		switch atomic.LoadUint32(&s.tid) {
		case 0:
			return 0, nil
		case tid:
			return int(i), (*Record)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&s.rec))))
		}
	}
	return 0, nil
}

// reset clears a reused record (not busy: it was released with its
// thread, and no request was in flight, so it has no buffer). A late
// handler or a Dump of the thread that had it may still read the fields
// the handler shares, so those are stored atomically.
func (r *Record) reset() {
	for _, f := range []*uint32{&r.request, &r.ack, &r.release, &r.inWrapper, &r.interrupt, &r.view} {
		atomic.StoreUint32(f, 0)
	}
	atomic.StoreInt32(&r.tid, 0)
	r.owner, r.replaced = 0, false
}

// Tid returns the OS thread id the record belongs to.
func (r *Record) Tid() int { return int(atomic.LoadInt32(&r.tid)) }

// SuspendAsync asks the handler to park the thread if it is inside the
// kernel entry. It reports true if the thread is parked (its context is
// saved, and it stays parked until ResumeAsync), false if the handler
// declined because the thread was elsewhere.
//
// It waits for the handler's answer until ctx is done or AckTimeout
// passes, whichever comes first; then it withdraws the request and
// returns ctx's cause (wrapped) or arch.ErrNoAnswer.
func (r *Record) SuspendAsync(ctx context.Context, sig syscall.Signal) (bool, error) {
	return r.suspendBy(ctx, sig, func() error { return Tgkill(r.Tid(), sig) })
}

// suspendBy is SuspendAsync with the signal sent by send.
func (r *Record) suspendBy(ctx context.Context, sig syscall.Signal, send func() error) (bool, error) {
	r.busy.Lock()
	ack, err := r.askBy(ctx, reqSuspend, sig, send, 0)
	if err != nil || ack != ackParked {
		regsPool.Put(r.detach())
		r.busy.Unlock()
		return false, err
	}
	// busy and the buffer stay until ResumeAsync; Context may read it.
	atomic.StoreUint32(&r.view, viewParked)
	return true, nil
}

// ResumeAsync releases a thread SuspendAsync parked and waits until its
// handler has left the wait, so that a new request cannot meet the old
// park; then it returns the park's buffer to the pool.
func (r *Record) ResumeAsync() {
	// From here on Context reports nothing: the park is ending.
	atomic.AndUint32(&r.view, ^uint32(viewParked))
	atomic.StoreUint32(&r.release, 1)
	futexWake(&r.release)
	r.await(context.Background(), func(a uint32) bool { return a == ackResumed }, 0)
	// A Context that came in before the flag was cleared decodes for
	// tens of nanoseconds; it must be done before the buffer can be
	// another request's.
	for atomic.LoadUint32(&r.view) != 0 {
		runtime.Gosched()
	}
	regsPool.Put(r.detach())
	r.busy.Unlock()
}

// Sample asks the handler for the thread's current context without
// parking it. It does not wait for another request on the same record:
// while a stop has the thread parked it returns ErrBusy at once.
func (r *Record) Sample(sig syscall.Signal) (arch.Context, error) {
	if !r.busy.TryLock() {
		return arch.Context{}, ErrBusy
	}
	defer r.busy.Unlock()
	_, err := r.ask(reqSample, sig)
	return r.sampled(err)
}

// sampled decodes a sample's registers, if err is nil, and returns its
// buffer to the pool. The handler is done with the buffer: it answered,
// or askBy withdrew the request before any handler took it.
func (r *Record) sampled(err error) (arch.Context, error) {
	buf := r.detach()
	defer regsPool.Put(buf)
	if err != nil {
		return arch.Context{}, err
	}
	var c arch.Context
	decode(&c, buf)
	return c, nil
}

// Context decodes the registers the handler saved when it parked the
// thread (SuspendAsync said parked, and ResumeAsync has not begun). It
// reports false when no park holds them: the thread was never parked
// through this record, or its resume has begun. It may be called from
// any goroutine while the park's owner resumes the thread.
func (r *Record) Context() (arch.Context, bool) {
	for { // loopcheck:ok a compare-and-swap retry: it fails only while another goroutine changes view, which takes no wait
		v := atomic.LoadUint32(&r.view)
		if v&viewParked == 0 {
			return arch.Context{}, false
		}
		if atomic.CompareAndSwapUint32(&r.view, v, v+viewReader) {
			break
		}
	}
	var c arch.Context
	decode(&c, r.buf.Load())
	atomic.AddUint32(&r.view, ^uint32(viewReader-1))
	return c, true
}

// attach gives the record a register buffer for the request about to be
// posted (busy held, no request in flight).
func (r *Record) attach() {
	if r.buf.Swap(regsPool.Get().(*[rawWords]uintptr)) != nil {
		panic("coopsuspend: internal error: a record's register buffer attached twice")
	}
}

// detach takes the record's register buffer back, once the handler can
// no longer write it (see Record).
func (r *Record) detach() *[rawWords]uintptr { return r.buf.Swap(nil) }

// Interrupt makes the thread's wrapped system call in progress return
// EINTR instead of restarting, or, if the thread is between wrapped calls,
// its next one. TakeInterrupt tells the wrapper it happened.
func (r *Record) Interrupt(sig syscall.Signal) error {
	atomic.StoreUint32(&r.interrupt, 1)
	return Tgkill(r.Tid(), sig)
}

// TakeInterrupt reports whether an Interrupt was pending, and clears it.
// The wrapper calls it on its own thread after each call.
func (r *Record) TakeInterrupt() bool { return atomic.SwapUint32(&r.interrupt, 0) != 0 }

// ask posts a request, signals the thread and waits for the answer.
func (r *Record) ask(req uint32, sig syscall.Signal) (uint32, error) {
	return r.askBy(context.Background(), req, sig, func() error { return Tgkill(r.Tid(), sig) }, 0)
}

// askBy is ask with the signal sent by send, which may have it delivered
// up to after later (SampleAfter's timer). It attaches a register buffer
// before it posts the request, and returns only once no handler can write
// it but a park's: the request was withdrawn before any handler took it,
// or the handler answered. The caller detaches the buffer (at once, or
// after the park).
func (r *Record) askBy(ctx context.Context, req uint32, sig syscall.Signal, send func() error, after time.Duration) (uint32, error) {
	r.attach()
	atomic.StoreUint32(&r.ack, ackNone)
	atomic.StoreUint32(&r.request, req)
	if err := send(); err != nil {
		// Withdraw the request unless a signal still pending from an
		// earlier request took it meanwhile: then its handler answers
		// (and may be writing the buffer, or have parked the thread),
		// and the answer stands.
		if atomic.CompareAndSwapUint32(&r.request, req, reqNone) {
			return 0, err
		}
		ack, _ := r.await(context.Background(), func(a uint32) bool { return a != ackNone }, 0)
		return ack, nil
	}
	ack, ok := r.await(ctx, func(a uint32) bool { return a != ackNone }, AckTimeout+after)
	if ok {
		return ack, nil
	}
	// Withdraw the request unless the handler took it meanwhile; once
	// taken, it answers without blocking first.
	if atomic.CompareAndSwapUint32(&r.request, req, reqNone) {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("waiting for the signal handler (tid %d, signal %v): %w", r.Tid(), sig, context.Cause(ctx))
		}
		return 0, fmt.Errorf("%w within %v (tid %d, signal %v): was it replaced, or is the signal blocked?",
			arch.ErrNoAnswer, AckTimeout, r.Tid(), sig)
	}
	ack, _ = r.await(context.Background(), func(a uint32) bool { return a != ackNone }, 0)
	return ack, nil
}

// await waits until done(ack) holds, spinning briefly, then yielding,
// then sleeping on the futex, for at most timeout (0: no limit) and until
// ctx is done.
func (r *Record) await(ctx context.Context, done func(uint32) bool, timeout time.Duration) (uint32, bool) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for i := 0; ; i++ {
		a := atomic.LoadUint32(&r.ack)
		if done(a) {
			return a, true
		}
		switch {
		case i < 50:
			runtime.Gosched()
		default:
			futexWait(&r.ack, a, 100*time.Microsecond)
		}
		if (timeout > 0 && time.Now().After(deadline)) || ctx.Err() != nil {
			a := atomic.LoadUint32(&r.ack)
			return a, done(a)
		}
	}
}

// InWrapper reports whether the thread is inside the kernel entry now.
func (r *Record) InWrapper() bool { return atomic.LoadUint32(&r.inWrapper) != 0 }

// Shared is a record for threads that are not registered (worlds without
// signals): Syscall6 needs one to mark the entry, nobody signals it, and
// nobody reads what the entry writes there.
var Shared = new(Record)

// RecordOf returns the record registered for the OS thread tid, or nil.
func RecordOf(tid int) *Record { return lookup(uint32(tid)) }

// lookup finds tid's record in the table, without locks, as the handler
// does.
func lookup(t uint32) *Record {
	_, r := find(t)
	return r
}
