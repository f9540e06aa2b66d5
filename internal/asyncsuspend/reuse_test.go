//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
	"github.com/coopsuspend/coopsuspend/internal/goid"
	"golang.org/x/sys/unix"
)

// fakeTid is a thread id no thread can have (the kernel's ids stay below
// 2^22), with slot index 7.
const fakeTid = 1<<30 + 7

// checkTable fails t unless the table keeps register's invariants: no tid
// is in two slots, and each slot's record has the slot's tid.
func checkTable(t *testing.T, when string) {
	t.Helper()
	tableMu.Lock()
	defer tableMu.Unlock()
	seen := map[uint32]int{}
	for i := range table {
		s := &table[i]
		tid := atomic.LoadUint32(&s.tid)
		if tid == 0 || tid == tombstone {
			continue
		}
		if j, dup := seen[tid]; dup {
			t.Errorf("%s: tid %d is in slots %d and %d", when, tid, j, i)
		}
		seen[tid] = i
		if r := (*Record)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&s.rec)))); uint32(r.Tid()) != tid {
			t.Errorf("%s: slot %d of tid %d holds the record of tid %d", when, i, tid, r.Tid())
		}
	}
}

// TestReusedTidTakesTheStaleSlot replays, with ids no thread has, the
// reuse that froze the wrong thread: X is in the slot where a tid T's
// chain starts, A registers T after it, A's goroutine ends without
// unregistering, X unregisters (a tombstone before A's slot), a new
// thread with id T (B) registers, A is swept, C reuses A's record, B
// unregisters. The handler then looked up T and found A's old slot,
// holding C's record. Now B takes A's slot in place, and after B leaves
// no slot holds T.
func TestReusedTidTakesTheStaleSlot(t *testing.T) {
	const tidT, tidX, tidC = fakeTid, fakeTid + tableSize, fakeTid + 1
	var owner uint64 = 1 << 62 // goroutine numbers this test's fake threads have
	next := func() uint64 { owner++; return owner }
	reg := func(tid uint32) *Record {
		t.Helper()
		r, err := register(tid, next())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	x := reg(tidX)
	a := reg(tidT)
	if at, _ := find(tidT); at == int(tidT%tableSize) {
		t.Fatalf("A took slot %d, the start of T's chain, which X holds", at)
	}
	x.Unregister()
	b := reg(tidT) // a new thread with A's id; A's record is stale
	checkTable(t, "after B registered")
	if got := lookup(tidT); got != b {
		t.Fatalf("lookup(T) after B registered = %p, want B's record %p", got, b)
	}
	a.Unregister() // the sweep of A, whose goroutine ended
	c := reg(tidC)
	if c != a {
		t.Logf("C did not reuse A's record (the free list held others); the table is checked all the same")
	}
	checkTable(t, "after C registered")
	if got := lookup(tidT); got != b {
		t.Fatalf("lookup(T) after C registered = %p, want B's record %p", got, b)
	}
	b.Unregister()
	checkTable(t, "after B unregistered")
	if got := lookup(tidT); got != nil {
		t.Fatalf("lookup(T) after B unregistered found the record of tid %d", got.Tid())
	}
	if got := lookup(tidC); got != c {
		t.Fatalf("lookup(C) = %p, want %p", got, c)
	}
	c.Unregister()
	checkTable(t, "at the end")
}

// TestRegisterOverAStaleRecordKeepsTheCount: replacing a stale record
// neither grows nor shrinks the count that bounds the table's load.
func TestRegisterOverAStaleRecordKeepsTheCount(t *testing.T) {
	tableMu.Lock()
	before := used
	tableMu.Unlock()
	a, err := register(fakeTid, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	b, err := register(fakeTid, 1<<62+1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := register(fakeTid, 1<<62+1); !errors.Is(err, ErrRegistered) {
		t.Errorf("a second Register by the same owner: %v, want ErrRegistered", err)
	}
	a.Unregister()
	b.Unregister()
	tableMu.Lock()
	after := used
	tableMu.Unlock()
	if after != before {
		t.Errorf("%d records counted before, %d after", before, after)
	}
}

// sharedReader is a registered thread blocked in a wrapped read made with
// another record (Shared, as a coop world's thread does): the thread is
// in the kernel entry, but not on behalf of its own record.
type sharedReader struct {
	rec    *Record
	r, w   int
	result chan syscall.Errno
}

func startSharedReader(t *testing.T) *sharedReader {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	sr := &sharedReader{r: p[0], w: p[1], result: make(chan syscall.Errno, 1)}
	ready := make(chan *Record)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		rec, err := Register(goid.Current())
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		defer rec.Unregister()
		ready <- rec
		var buf [8]byte
		_, _, e := Syscall6(Shared, unix.SYS_READ, uintptr(sr.r), uintptr(unsafePointer(&buf[0])), 8, 0, 0, 0)
		sr.result <- e
	}()
	sr.rec = <-ready
	if sr.rec == nil {
		t.FailNow()
	}
	// Wait until the read is in the kernel: the shared record says so.
	for !Shared.InWrapper() {
		time.Sleep(100 * time.Microsecond)
	}
	time.Sleep(10 * time.Millisecond) // past the entry's first instructions
	return sr
}

// finish ends the read and returns its errno.
func (sr *sharedReader) finish(t *testing.T) syscall.Errno {
	t.Helper()
	if _, err := unix.Write(sr.w, []byte("x")); err != nil {
		t.Fatalf("writing to the reader's pipe: %v", err)
	}
	var e syscall.Errno
	select {
	case e = <-sr.result:
	case <-time.After(30 * time.Second):
		t.Fatal("the reader's read did not return within 30 s of its data")
	}
	for _, fd := range []int{sr.r, sr.w} {
		if err := unix.Close(fd); err != nil {
			t.Errorf("closing the reader's pipe: %v", err)
		}
	}
	return e
}

// TestHandlerParksOnlyItsRecordsEntry: a thread whose record says it is
// in the kernel entry (a stale record of a reused tid does, if its owner
// ended in a call) but which is in the entry on behalf of another record
// is declined, not parked, and an interrupt meant for its record does not
// break the other record's call. Before the handler compared the record
// the entry carries, both happened to the wrong thread.
func TestHandlerParksOnlyItsRecordsEntry(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	sr := startSharedReader(t)
	atomic.StoreUint32(&sr.rec.inWrapper, 1) // as if the record's owner were in a call
	for i := range 20 {
		parked, err := sr.rec.SuspendAsync(context.Background(), arch.DefaultSignal)
		if err != nil {
			t.Fatal(err)
		}
		if parked {
			sr.rec.ResumeAsync()
			t.Errorf("request %d parked a thread that is in the entry for another record", i)
			break
		}
	}
	atomic.StoreUint32(&sr.rec.inWrapper, 0)
	// An interrupt for the thread's own record: its next wrapped call
	// with that record would return EINTR, the shared one must not.
	if err := sr.rec.Interrupt(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if !sr.rec.TakeInterrupt() {
		t.Error("the interrupt flag was consumed, but no call with the record was made")
	}
	if e := sr.finish(t); e != 0 {
		t.Fatalf("the read made with the shared record returned errno %v; an interrupt for another record broke it", e)
	}
}

// TestHandlerIgnoresAnotherThreadsRecord: a record the handler finds in
// its thread's slot but that has another thread's id (a record reused
// while a late handler held it) gets no answer: the request times out
// and is withdrawn.
func TestHandlerIgnoresAnotherThreadsRecord(t *testing.T) {
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	br := startReader(t)
	tid := br.rec.Tid()
	defer func() {
		atomic.StoreInt32(&br.rec.tid, int32(tid))
		if got := br.finish(t, "bye"); got != "bye" {
			t.Errorf("read returned %q", got)
		}
	}()
	defer func(d time.Duration) { AckTimeout = d }(AckTimeout)
	AckTimeout = 200 * time.Millisecond
	// The handler runs on the thread tid and finds this record in tid's
	// slot; the record now names another thread.
	atomic.StoreInt32(&br.rec.tid, fakeTid)
	send := func() error { return Tgkill(tid, arch.DefaultSignal) }
	for _, req := range []uint32{reqSample, reqSuspend} {
		br.rec.busy.Lock()
		ack, err := br.rec.askBy(context.Background(), req, arch.DefaultSignal, send, 0)
		if ack == ackParked {
			atomic.StoreUint32(&br.rec.view, viewParked)
			br.rec.ResumeAsync() // gives the buffer back and unlocks busy
		} else {
			regsPool.Put(br.rec.detach())
			br.rec.busy.Unlock()
		}
		if !errors.Is(err, arch.ErrNoAnswer) {
			t.Errorf("request %d to a record of another thread: ack %d, error %v; want no answer", req, ack, err)
		}
	}
}
