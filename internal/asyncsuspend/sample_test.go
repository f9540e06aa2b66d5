//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/coopsuspend/coopsuspend/arch"
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
	if err := Install(arch.DefaultSignal); err != nil {
		t.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	rec, stop := startSpinner(t)
	defer stop()
	var missed []arch.Frame
	for i := 0; i < 50; i++ {
		c, err := rec.SampleAfter(arch.DefaultSignal, time.Duration(1+i%4)*250*time.Microsecond)
		if err != nil {
			t.Fatal(err)
		}
		fr := c.Where()
		if strings.HasSuffix(fr.Function, "asyncsuspend.spin") {
			if p := fr.Place(); p != arch.InProgram {
				t.Fatalf("the spinner's loop classified as %v", p)
			}
			t.Logf("sampled at %v after %d misses %v", fr, len(missed), missed)
			return
		}
		missed = append(missed, fr)
	}
	t.Errorf("50 delayed samples never found the spinner in its loop: %v", missed[:5])
}

// BenchmarkSample compares an immediate sample of a spinning thread with
// one delivered by SampleAfter's timer (its delay included: 50 µs), and
// times a sample of a thread blocked in a wrapped read, which takes no
// CPU from the sampler.
func BenchmarkSample(b *testing.B) {
	if err := Install(arch.DefaultSignal); err != nil {
		b.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	b.Run("blocked", func(b *testing.B) {
		br := startReader(b)
		defer br.finish(b, "done")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.rec.Sample(arch.DefaultSignal); err != nil {
				b.Fatal(err)
			}
		}
	})
	rec, stop := startSpinner(b)
	defer stop()
	for _, delay := range []time.Duration{0, 50 * time.Microsecond} {
		b.Run(fmt.Sprintf("delay=%v", delay), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rec.SampleAfter(arch.DefaultSignal, delay); err != nil {
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
		tm, err := newThreadTimer(Gettid(), arch.DefaultSignal)
		if err != nil {
			b.Fatal(err)
		}
		if err := tm.arm(time.Hour); err != nil {
			b.Fatal(err)
		}
		tm.delete()
	}
}

// TestKernelEntryPlace: a thread the handler parked or sampled inside the
// kernel entry is where its goroutine made a system call, and arch.Place
// must say so (the program, not the runtime or unknown code): the entry
// is this package's assembly, outside the runtime, with Go line
// information.
func TestKernelEntryPlace(t *testing.T) {
	for _, pc := range []uintptr{entryStart, SyscallPC()} {
		if fr := arch.Symbolize(pc); fr.Place() != arch.InProgram {
			t.Errorf("the kernel entry's %#x symbolises to %v, in %v", pc, fr, fr.Place())
		}
	}
}
