//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/arch"
	"golang.org/x/sys/unix"
)

// BenchmarkSuspendAsync measures an asynchronous suspend of a thread
// blocked in a wrapped read: the request, the signal, the handler's park
// and its acknowledgement (suspend-ns, request to suspended), then the
// release (in ns/op, not in suspend-ns). Compare with
// BenchmarkNotifyDelivery in the same run:
//
//	go test -run '^$' -bench 'SuspendAsync|NotifyDelivery' -count 6 ./internal/asyncsuspend
func BenchmarkSuspendAsync(b *testing.B) {
	if err := Install(arch.DefaultSignal); err != nil {
		b.Fatal(err)
	}
	defer Uninstall(arch.DefaultSignal)
	br := startReader(b)
	defer br.finish(b, "done")
	var suspended time.Duration
	declined := 0
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		parked, err := br.rec.SuspendAsync(context.Background(), arch.DefaultSignal)
		suspended += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if !parked {
			declined++
			continue
		}
		br.rec.ResumeAsync()
	}
	b.ReportMetric(float64(suspended.Nanoseconds())/float64(b.N), "suspend-ns")
	b.ReportMetric(float64(declined), "declined")
}

// BenchmarkNotifyDelivery measures Go's own way to get a signal to
// code: tgkill to a locked thread, delivered through os/signal.Notify to
// a channel receive.
func BenchmarkNotifyDelivery(b *testing.B) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, unix.SIGUSR1)
	defer signal.Stop(c)
	tids := make(chan int)
	quit := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- Gettid()
		<-quit
	}()
	tid := <-tids
	defer close(quit)
	for b.Loop() {
		if err := Tgkill(tid, unix.SIGUSR1); err != nil {
			b.Fatal(err)
		}
		<-c
	}
}
