//go:build linux && (amd64 || arm64)

package arch

import (
	"os"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"unsafe"
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
		v, _ := strconv.ParseInt(m[2], 10, 64)
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
		"REC_RAW":            int64(unsafe.Offsetof(r.raw)),
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
	if unsafe.Sizeof(s) != 1<<4 || unsafe.Offsetof(s.rec) != 8 {
		t.Errorf("slot is %d bytes with rec at %d, the handler expects 16 and 8", unsafe.Sizeof(s), unsafe.Offsetof(s.rec))
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
	if got, _ := strconv.Atoi(string(m[1])); got != mcontextOffset {
		t.Errorf("%s copies from offset %d of the ucontext, the Go side says %d", file, got, mcontextOffset)
	}
}
