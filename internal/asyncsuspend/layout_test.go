//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"os"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
	"golang.org/x/sys/unix"
)

// TestRecordLayout checks record.h, which the assembly reads, against the
// Go declarations.
func TestRecordLayout(t *testing.T) {
	src, err := os.ReadFile("record.h")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^#define\s+(\w+)\s+(\d+)\s*$`).FindAllStringSubmatch(string(src), -1) {
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatalf("record.h: #define %s %s: %v", m[1], m[2], err)
		}
		defs[m[1]] = v
	}
	var r Record
	var s slot
	want := map[string]int64{
		"REC_REQUEST":        int64(unsafe.Offsetof(r.request)),
		"REC_ACK":            int64(unsafe.Offsetof(r.ack)),
		"REC_RELEASE":        int64(unsafe.Offsetof(r.release)),
		"REC_INWRAPPER":      int64(unsafe.Offsetof(r.inWrapper)),
		"REC_INTERRUPT":      int64(unsafe.Offsetof(r.interrupt)),
		"REC_TID":            int64(unsafe.Offsetof(r.tid)),
		"REC_BUF":            int64(unsafe.Offsetof(r.buf)),
		"REQ_NONE":           reqNone,
		"REQ_SUSPEND":        reqSuspend,
		"REQ_SAMPLE":         reqSample,
		"REQ_TAKEN":          reqTaken,
		"ACK_NONE":           ackNone,
		"ACK_PARKED":         ackParked,
		"ACK_DECLINED":       ackDeclined,
		"ACK_SAMPLED":        ackSampled,
		"ACK_RESUMED":        ackResumed,
		"TABLE_SIZE":         tableSize,
		"TABLE_MASK":         tableSize - 1,
		"SLOT_SHIFT":         4,
		"FUTEX_WAIT_PRIVATE": futexWaitPrivate,
		"FUTEX_WAKE_PRIVATE": futexWakePrivate,
		"EINTR":              4,
	}
	if rec := 16 - unsafe.Sizeof(uintptr(0)); unsafe.Sizeof(s) != 1<<4 || unsafe.Offsetof(s.rec) != rec {
		t.Errorf("slot is %d bytes with rec at %d, the handler expects 16 and %d", unsafe.Sizeof(s), unsafe.Offsetof(s.rec), rec)
	}
	for name, v := range want {
		if got, ok := defs[name]; !ok || got != v {
			t.Errorf("record.h: %s = %d (defined %v), Go says %d", name, got, ok, v)
		}
	}
	if len(defs) != len(want) {
		t.Errorf("record.h defines %d names, the test checks %d", len(defs), len(want))
	}
}

// TestUcontextOffset checks the signal-frame offset the handler copies
// from against the Go side's.
func TestUcontextOffset(t *testing.T) {
	file := "entry_" + runtime.GOARCH + ".s"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define ` + ucontextDefine + `\s+(\d+)`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s does not define %s", file, ucontextDefine)
	}
	got, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatalf("%s: %s %s: %v", file, ucontextDefine, m[1], err)
	}
	if got != mcontextOffset {
		t.Errorf("%s copies from offset %d of the ucontext, the Go side says %d", file, got, mcontextOffset)
	}
}

// TestEntryDefines checks the numbers the architecture's entry defines:
// the signal-frame offsets against the kernel's structures as Go's
// runtime declares them (frameOffsets, in frame_GOARCH_test.go), the
// system-call numbers against golang.org/x/sys/unix.
func TestEntryDefines(t *testing.T) {
	file := "entry_" + runtime.GOARCH + ".s"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^#define\s+(\w+)\s+(\d+)\s*$`).FindAllStringSubmatch(string(src), -1) {
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatalf("%s: #define %s %s: %v", file, m[1], m[2], err)
		}
		defs[m[1]] = v
	}
	want := map[string]int64{"SYS_gettid": unix.SYS_GETTID, "SYS_futex": unix.SYS_FUTEX}
	for name, off := range frameOffsets() {
		want[name] = int64(off)
	}
	for name, v := range want {
		if got, ok := defs[name]; !ok || got != v {
			t.Errorf("%s: %s = %d (defined %v), want %d", file, name, got, ok, v)
		}
	}
	// The handler copies RAW_WORDS words into a register buffer of
	// rawWords: more would overrun it, fewer waste memory in every buffer
	// (amd64's held 34 words and was given 18, 128 bytes never written).
	if n, ok := defs["RAW_WORDS"]; !ok || n != rawWords {
		t.Errorf("%s: RAW_WORDS = %d (defined %v): the handler must copy exactly the buffer's %d words", file, n, ok, rawWords)
	}
}

// TestSigactionLayout reads back the action Go's runtime installed for
// SIGURG: its flags hold SA_SIGINFO and SA_ONSTACK, and its mask is full
// (sigfillset) but for SIGKILL and SIGSTOP, which the kernel (not
// qemu-user) drops from it, and 32–34, which the C library keeps out
// when the program links it (cgo, the race detector), so a field at the
// wrong offset shows.
func TestSigactionLayout(t *testing.T) {
	var act sigaction
	if err := rtSigaction(arch.DefaultSignal, nil, &act); err != nil {
		t.Fatal(err)
	}
	mask := ^uint64(0) &^ (1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1) | 7<<31)
	if act.handler == 0 || act.flags&(saSiginfo|saOnstack) != saSiginfo|saOnstack || act.mask|^mask != ^uint64(0) {
		t.Errorf("SIGURG's action as read: %+v; Go installs a handler with SA_SIGINFO|SA_ONSTACK and the mask %#x", act, mask)
	}
}

// maxRecordBytes bounds the heap a record takes on every architecture.
// Records are never freed (a late signal may still look one up), so an
// OS thread that was ever attached keeps its record: it must stay small,
// and the registers the handler saves live in a buffer attached for a
// request only (Record, regsPool).
const maxRecordBytes = 64

// TestRecordSize checks the record's size and the heap a record really
// takes (its size class), and reports the register buffer's, which a
// request in flight borrows.
func TestRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(Record{}); n > maxRecordBytes {
		t.Errorf("a Record is %d bytes, over %d", n, maxRecordBytes)
	}
	rec := heapPer(t, func() any { return new(Record) })
	buf := heapPer(t, func() any { return new([rawWords]uintptr) })
	t.Logf("%s: a record takes %d bytes of heap (%d declared); a register buffer %d (%d words)",
		runtime.GOARCH, rec, unsafe.Sizeof(Record{}), buf, rawWords)
	if rec > maxRecordBytes {
		t.Errorf("a record takes %d bytes of heap, over %d", rec, maxRecordBytes)
	}
}

// heapPer returns the heap one object made by alloc takes, measured over
// many kept alive at once; the least of three tries, since the runtime
// (or another test's goroutine) may allocate meanwhile.
func heapPer(t *testing.T, alloc func() any) uint64 {
	t.Helper()
	const n = 4096
	least := ^uint64(0)
	for range 3 {
		keep := make([]any, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i] = alloc()
		}
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(keep)
		least = min(least, (after.TotalAlloc-before.TotalAlloc)/n)
	}
	return least
}
