package core

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"github.com/coopsuspend/coopsuspend/internal/seam"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Thread is the shared record of one attached thread.
type Thread struct {
	// Cell is the thread's state word. It is the first field so that a
	// poll's load needs no offset.
	Cell threadstate.Cell

	// Name and ID identify the thread in errors and dumps; Tid is its OS
	// thread id when the goroutine is locked to its thread, else 0. They
	// are set before the thread is published and never change.
	Name string
	ID   uint64
	Tid  int32

	// Notifier is the world's: the thread posts to it when a transition
	// says to notify the initiator.
	Notifier *Notifier

	// Rec is the thread's mailbox with the signal handler, registered by
	// Attach under policies that use signals; nil otherwise.
	Rec *asyncsuspend.Record

	// SyscallCaller is the return address of the last call into a
	// wrapped system call (safepoint.Syscall6 and its helpers), for
	// dumps; written by the thread.
	SyscallCaller atomic.Uintptr

	// resume is the thread's resume semaphore. Capacity one: the state
	// machine allows one post per park, and the post may come before the
	// thread blocks on it.
	resume seam.Sema

	// Owner is the goroutine that attached (internal/goid), set before
	// the thread is published; 0 for a thread no World attached (tests
	// of this package). The coopcheck build's affinity checks read it,
	// and Adopt moves it to whichever goroutine acts as a coroutine's
	// thread; the registry keeps its own copy of the first value.
	Owner uint64

	// OwnerG is the token (goid.G) of the goroutine that acts as the
	// thread: the attaching one, or, while a coroutine runs on the
	// thread, whichever side of it Adopt was last called on; 0 for a
	// thread no World attached. Every build checks it on the thread's
	// slow paths (checkGoroutine): a nanosecond, where Owner's check is a
	// stack trace.
	OwnerG uintptr

	// inSafe is set while the thread is inside a blocking region it
	// entered with EnterSafe (self only): Detach starts from there.
	inSafe bool

	// regionEndedByDetach is set when Detach ended the blocking region
	// the thread was in: the ExitSafe that closes that region is
	// accepted once and does nothing (self only).
	regionEndedByDetach bool

	stats threadStats
}

// Init prepares a zero Thread, in the Starting state, for attaching.
func (t *Thread) Init(name string, id uint64, n *Notifier) {
	t.Name, t.ID, t.Notifier = name, id, n
	t.resume.Init("resume")
}

// PollClear makes the safepoint's fast path one load and one compare of
// the whole word: a word needs the slow path unless it equals PollClear,
// that is, unless it is Running outside a no-safepoints region. A Running
// word's suspend count is always zero (invariant I2, threadstate.CheckWord),
// so no mask is needed: the no-safepoints flag and every other state
// differ from it.
const PollClear = threadstate.Word(threadstate.Running)

// threadStats are updated by the thread itself, on slow paths only.
type threadStats struct {
	parks     atomic.Int64
	slowPolls atomic.Int64
}

// Counts returns the thread's counters: the times it parked for a
// suspender, and the polls that took the slow path.
func (t *Thread) Counts() (parks, slowPolls int64) {
	return t.stats.parks.Load(), t.stats.slowPolls.Load()
}

// PostResume wakes the thread parked (or about to park) on its resume
// semaphore. The initiator calls it when RequestResume says
// ResumeInitSelfResume or ResumeInitBlockingResume.
func (t *Thread) PostResume() {
	if !t.resume.TryPost() {
		panic(fmt.Sprintf("coopsuspend: internal error: thread %q resumed twice for one park", t.Name))
	}
}

// InSafeRegion reports whether the thread is inside a blocking region it
// entered itself. Only the thread may call it.
func (t *Thread) InSafeRegion() bool { return t.inSafe }

// Adopt makes the calling goroutine the owner of the thread whose record
// is at p (a *suspend.Thread: its first field is the record), for the
// goroutine checks of the thread's slow paths (OwnerG, every build) and
// the coopcheck build's affinity checks (Owner). A coroutine's body runs
// on a goroutine of its own, strictly alternating with the goroutine that
// resumes it, and both act as the same thread: the coroutine package
// calls Adopt on each side of every switch.
func Adopt(p unsafe.Pointer) {
	AdoptFor(p, goid.G(), 0)
}

// AdoptFor is Adopt on behalf of another goroutine, the one with token g
// (and, for the coopcheck build, number owner; 0 reads the caller's):
// the resumer of a coroutine hands the thread to the body's goroutine
// just before it switches there, so that the body needs no adoption of
// its own after each switch back (Suspender.Yield has no room for it).
func AdoptFor(p unsafe.Pointer, g uintptr, owner uint64) {
	t := (*Thread)(p)
	if t.OwnerG == 0 {
		return
	}
	t.OwnerG = g
	if threadstate.Checked {
		if owner == 0 {
			owner = goid.Current()
		}
		t.Owner = owner
	}
}
