package suspend

import (
	"fmt"
	"io"
	"strings"

	"github.com/coopsuspend/coopsuspend/internal/asyncsuspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Dump writes the world's threads to out: the state-word cue card, then
// one line per thread with its name, id, OS thread id, state word and
// thread statistics. The initiator of a stop in progress is marked, and
// so are threads whose goroutine ended without Detach (collected, or
// whose OS thread has exited). Dump does not wait for the suspend lock,
// so it works during a stop (a timed-out stop's error is this dump); it
// takes the registry's mutex only to read it, and nobody holds that
// mutex across anything that blocks. It returns out's error.
func (w *World) Dump(out io.Writer) error {
	_, err := io.WriteString(out, w.dumpString())
	return err
}

func (w *World) dumpString() string {
	var b strings.Builder
	if w.lock == nil {
		b.WriteString(errZeroWorld.Error() + "\n")
		return b.String()
	}
	b.WriteString(threadstate.CueCard())
	w.mu.RLock()
	entries := append([]entry(nil), w.entries...)
	w.mu.RUnlock()
	init := w.initiator.Load()
	fmt.Fprintf(&b, "world: policy %v, %d thread(s)\n", w.policy, len(entries))
	for i := range entries {
		e := &entries[i]
		fmt.Fprintf(&b, "  thread %q id %d", e.name, e.id)
		if e.tid != 0 {
			fmt.Fprintf(&b, " tid %d", e.tid)
		}
		t := e.thread.Value()
		if t == nil {
			b.WriteString("  ABANDONED: its goroutine ended without Detach; removed at the next stop\n")
			continue
		}
		wd := t.Word()
		fmt.Fprintf(&b, " state %v  parks %d", wd, t.Stats().Parks)
		if t == init {
			b.WriteString("  [INITIATOR]")
		}
		if t.osThreadGone() {
			b.WriteString("  ABANDONED: its OS thread has exited, so its goroutine ended without Detach")
		}
		if where := t.where(t.asyncContext(wd)); where != "" {
			b.WriteString("  " + where)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// osThreadGone reports whether t was locked to an OS thread that no
// longer exists. A locked goroutine that ends takes its thread with it,
// and a thread locked by Attach stays so until Detach, so true means
// that the goroutine ended without Detach. (A new thread that got the
// same id hides it: false is not proof of life.)
func (t *Thread) osThreadGone() bool {
	return t.c.Tid != 0 && t.Word().State() != threadstate.Detached && !asyncsuspend.ThreadExists(int(t.c.Tid))
}
