//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package arch

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestSigeventLayout: sigevent matches the kernel's struct sigevent
// (include/uapi/asm-generic/siginfo.h: sigev_value, sigev_signo,
// sigev_notify, then the union whose _tid is first, SIGEV_MAX_SIZE 64
// bytes in all; sigev_value is a pointer's size) and itimerspec two
// timespecs of two longs each. TestSampleAfter proves that the kernel
// reads it so: the signal reaches the thread named.
func TestSigeventLayout(t *testing.T) {
	var ev sigevent
	p := unsafe.Sizeof(uintptr(0))
	got := []uintptr{unsafe.Offsetof(ev.signo), unsafe.Offsetof(ev.notify), unsafe.Offsetof(ev.tid), unsafe.Sizeof(ev)}
	if want := []uintptr{p, p + 4, p + 8, 64}; !reflect.DeepEqual(got, want) {
		t.Errorf("sigevent signo, notify, tid, size = %v, want %v", got, want)
	}
	if n := unsafe.Sizeof(itimerspec{}); n != 4*p {
		t.Errorf("itimerspec is %d bytes, want %d", n, 4*p)
	}
}

// TestSampleAfter: the timer's signal reaches the registered thread (not
// another one: the handler answers only on the record's thread) and
// catches it in its loop, also when the sampler and the spinner share
// one P (GOMAXPROCS=1), where Sample's immediate signal finds the
// spinner's thread asleep in the scheduler.
func TestSampleAfter(t *testing.T) {
	if err := Install(DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(DefaultSignal)
	rec, stop := startSpinner(t)
	defer stop()
	var missed []Frame
	for i := 0; i < 50; i++ {
		c, err := rec.SampleAfter(DefaultSignal, time.Duration(1+i%4)*250*time.Microsecond)
		if err != nil {
			t.Fatal(err)
		}
		fr := c.Where()
		if strings.HasSuffix(fr.Function, "arch.spin") {
			if p := fr.Place(); p != InProgram {
				t.Fatalf("the spinner's loop classified as %v", p)
			}
			t.Logf("sampled at %v after %d misses %v", fr, len(missed), missed)
			return
		}
		missed = append(missed, fr)
	}
	t.Errorf("50 delayed samples never found the spinner in its loop: %v", missed[:5])
}

// vdsoBase returns the address of the vDSO's ELF header (AT_SYSINFO_EHDR
// in the auxiliary vector), or 0.
func vdsoBase(t *testing.T) uintptr {
	f, err := os.Open("/proc/self/auxv")
	if err != nil {
		t.Skipf("no auxiliary vector to find the vDSO: %v", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		// Each entry is two words of the machine's size.
		var kv [2]uint64
		var err error
		if unsafe.Sizeof(uintptr(0)) == 4 {
			var kv32 [2]uint32
			err = binary.Read(r, binary.NativeEndian, &kv32)
			kv = [2]uint64{uint64(kv32[0]), uint64(kv32[1])}
		} else {
			err = binary.Read(r, binary.NativeEndian, &kv)
		}
		if err != nil || kv[0] == 0 {
			return 0
		}
		if kv[0] == 33 { // AT_SYSINFO_EHDR
			return uintptr(kv[1])
		}
	}
}

//go:noinline
func program() uintptr {
	var c Context
	Capture(&c)
	return c.PC
}

// TestPlace: the classes of real program counters, and of the frames
// the race runtime's code symbolises to.
func TestPlace(t *testing.T) {
	pcs := []struct {
		name string
		pc   uintptr
		want Place
	}{
		{"this test's code", program(), InProgram},
		{"runtime.Gosched", reflect.ValueOf(runtime.Gosched).Pointer(), InRuntime},
		{"the kernel entry (arch's own assembly)", entryStart, InProgram},
		{"address 0", 0, InUnknown},
	}
	if base := vdsoBase(t); base != 0 {
		pcs = append(pcs, struct {
			name string
			pc   uintptr
			want Place
		}{"the vDSO", base + 0x100, InUnknown})
	} else {
		t.Log("no vDSO in the auxiliary vector: not checked")
	}
	for _, c := range pcs {
		fr := Symbolize(c.pc)
		if got := fr.Place(); got != c.want {
			t.Errorf("%s: %v is in %v, want %v", c.name, fr, got, c.want)
		}
	}
	foreign := InUnknown
	if raceEnabled {
		foreign = InRace
	}
	frames := []struct {
		fr   Frame
		want Place
	}{
		{Frame{Function: "__tsan_go_atomic32_load", File: "?"}, InRace},
		{Frame{Function: "_ZN6__tsan9ShadowSetEPNS_8RawShadowES1_S0_", File: "?"}, foreign},
		{Frame{Function: "runtime.futex", File: runtimeDir + "/sys_linux_amd64.s", Line: 570}, InRuntime},
		{Frame{Function: "runtime.racecallatomic", File: runtimeDir + "/race_amd64.s", Line: 10}, InRace},
		{Frame{Function: "sync/atomic.LoadInt32", File: runtimeDir + "/race_amd64.s", Line: 10}, InRace},
		{Frame{Function: "internal/runtime/atomic.Load", File: "/x/internal/runtime/atomic/a.go", Line: 1}, InRuntime},
		{Frame{Function: "internal/race.Read", File: "/x/internal/race/race.go", Line: 1}, InRace},
		{Frame{Function: "runtime/pprof.Do", File: "/x/runtime/pprof/runtime.go", Line: 1}, InProgram},
		{Frame{Function: "runtime.memmove", File: runtimeDir + "/memmove_amd64.s", Line: 1, InlinedInto: "example.com/vm.copy"}, InProgram},
		{Frame{Function: "example.com/vm.(*VM).run", File: "/src/vm/vm.go", Line: 10}, InProgram},
		{Frame{Function: "example.com/vm/runtime.run", File: "/src/vm/runtime/r.go", Line: 10}, InProgram},
	}
	for _, c := range frames {
		if got := c.fr.Place(); got != c.want {
			t.Errorf("%v is in %v, want %v", c.fr, got, c.want)
		}
	}
}

// BenchmarkSample compares an immediate sample of a spinning thread with
// one delivered by SampleAfter's timer (its delay included: 50 µs).
func BenchmarkSample(b *testing.B) {
	if err := Install(DefaultSignal); err != nil {
		b.Fatal(err)
	}
	defer Uninstall(DefaultSignal)
	rec, stop := startSpinner(b)
	defer stop()
	for _, delay := range []time.Duration{0, 50 * time.Microsecond} {
		b.Run(fmt.Sprintf("delay=%v", delay), func(b *testing.B) {
			for b.Loop() {
				if _, err := rec.SampleAfter(DefaultSignal, delay); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThreadTimer: the timer's own cost per sample (create, arm,
// delete), without the signal.
func BenchmarkThreadTimer(b *testing.B) {
	for b.Loop() {
		tm, err := newThreadTimer(Gettid(), DefaultSignal)
		if err != nil {
			b.Fatal(err)
		}
		if err := tm.arm(time.Hour); err != nil {
			b.Fatal(err)
		}
		tm.delete()
	}
}
