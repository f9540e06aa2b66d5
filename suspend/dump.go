package suspend

import (
	"fmt"
	"io"
	"strings"

	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Dump writes the world's threads to out: the state-word cue card, then
// one line per thread with its name, id, OS thread id, state word and
// thread statistics. The initiator of a stop in progress is marked. Dump
// does not wait for the suspend lock, so it works during a stop (a timed
// out stop's error is this dump).
func (w *World) Dump(out io.Writer) {
	io.WriteString(out, w.dumpString())
}

func (w *World) dumpString() string {
	var b strings.Builder
	b.WriteString(threadstate.CueCard())
	w.mu.RLock()
	threads := append([]*Thread(nil), w.threads...)
	w.mu.RUnlock()
	init := w.initiator.Load()
	fmt.Fprintf(&b, "world: policy %v, %d thread(s)\n", w.policy, len(threads))
	for _, t := range threads {
		st := t.c.Stats()
		fmt.Fprintf(&b, "  thread %q id %d", t.c.Name, t.c.ID)
		if t.c.Tid != 0 {
			fmt.Fprintf(&b, " tid %d", t.c.Tid)
		}
		wd := t.Word()
		fmt.Fprintf(&b, " state %v  parks %d", wd, st.Parks)
		if t == init {
			b.WriteString("  [INITIATOR]")
		}
		if where := t.where(t.asyncContext(wd)); where != "" {
			b.WriteString("  " + where)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
