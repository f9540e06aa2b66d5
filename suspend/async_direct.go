//go:build !coopmodel

package suspend

import (
	"context"
	"runtime"
	"syscall"
	"time"
)

// The initiator's three questions to a thread's signal-handler mailbox.
// They are the record's own methods; the explorer's build
// (async_model.go) can answer them with a simulated handler instead.

func recInWrapper(t *Thread) bool { return t.c.Rec.InWrapper() }

func recSuspendAsync(ctx context.Context, t *Thread, sig syscall.Signal) (bool, error) {
	return t.c.Rec.SuspendAsync(ctx, sig)
}

func recResumeAsync(t *Thread) { t.c.Rec.ResumeAsync() }

// asyncPause is the back-off before asking t's handler again: a yield,
// or a sleep of d.
func asyncPause(t *Thread, d time.Duration) {
	if d == 0 {
		runtime.Gosched()
	} else {
		time.Sleep(d)
	}
}
