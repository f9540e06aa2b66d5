package suspend

import (
	"fmt"
	"io"
	"strconv"

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
	if w.lock == nil {
		return errZeroWorld.Error() + "\n"
	}
	w.mu.RLock()
	entries := append([]entry(nil), w.entries...)
	w.mu.RUnlock()
	init := w.initiator.Load()
	// One buffer for the whole dump, sized for a typical line, so that a
	// dump of 50,000 threads costs a few allocations per thread at most
	// (a thread in a system call adds its location), not one per field.
	cue := threadstate.CueCard()
	b := make([]byte, 0, len(cue)+64+len(entries)*96)
	b = append(b, cue...)
	b = fmt.Appendf(b, "world: policy %v, %d thread(s)\n", w.policy, len(entries))
	for i := range entries {
		b = appendEntry(b, &entries[i], init)
	}
	return string(b)
}

// appendEntry appends e's line of the dump to b.
func appendEntry(b []byte, e *entry, init *Thread) []byte {
	b = append(b, "  thread "...)
	b = strconv.AppendQuote(b, e.name)
	b = append(b, " id "...)
	b = strconv.AppendUint(b, e.id, 10)
	if e.tid != 0 {
		b = append(b, " tid "...)
		b = strconv.AppendInt(b, int64(e.tid), 10)
	}
	t := e.thread.Value()
	if t == nil {
		return append(b, "  ABANDONED: its goroutine ended without Detach; removed at the next stop\n"...)
	}
	wd := t.Word()
	b = append(b, " state "...)
	b, _ = wd.AppendText(b)
	b = append(b, "  parks "...)
	b = strconv.AppendInt(b, t.Stats().Parks, 10)
	if t == init {
		b = append(b, "  [INITIATOR]"...)
	}
	if t.osThreadGone() {
		b = append(b, "  ABANDONED: its OS thread has exited, so its goroutine ended without Detach"...)
	}
	if where := t.where(t.asyncContext(wd)); where != "" {
		b = append(b, "  "...)
		b = append(b, where...)
	}
	return append(b, '\n')
}

// osThreadGone reports whether t was locked to an OS thread that no
// longer exists. A locked goroutine that ends takes its thread with it,
// and a thread locked by Attach stays so until Detach, so true means
// that the goroutine ended without Detach. (A new thread that got the
// same id hides it: false is not proof of life.)
func (t *Thread) osThreadGone() bool {
	return t.c.Tid != 0 && t.Word().State() != threadstate.Detached && !asyncsuspend.ThreadExists(int(t.c.Tid))
}
