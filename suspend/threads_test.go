package suspend_test

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// vmRecord stands for what an embedder keeps with each thread (its VM).
type vmRecord struct{ name string }

// blockedGuest is a thread attached with a value that waits in a blocking
// region until told to detach (leave) or to end without Detach (abandon).
type blockedGuest struct {
	th      *suspend.Thread
	leave   chan bool // true: Detach; false: return without it
	done    chan struct{}
	detachE error
}

func attachBlocked(t *testing.T, w *suspend.World, name string, v any) *blockedGuest {
	t.Helper()
	g := &blockedGuest{leave: make(chan bool), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(g.done)
		th, err := w.Attach(name, suspend.WithValue(v))
		if err != nil {
			ready <- err
			return
		}
		g.th = th
		ready <- nil
		var detach bool
		safepoint.Blocking(th, func() { detach = <-g.leave })
		if detach {
			g.detachE = th.Detach()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *blockedGuest) end(detach bool) {
	g.leave <- detach
	<-g.done
}

// TestThreadsAndValues: World.Threads lists the attached threads in the
// order they attached, each with the value it was attached with, also
// while the world is stopped; a stop's ThreadInfo names its thread; a
// detached thread leaves the list, and so does one whose goroutine ended
// without Detach once the garbage collector has found it unreachable.
func TestThreadsAndValues(t *testing.T) {
	w := newWorld(t)
	if got := w.Threads(); len(got) != 0 {
		t.Fatalf("a new world has threads %v", got)
	}
	var guests []*blockedGuest
	for _, name := range []string{"a", "b", "c", "d"} {
		guests = append(guests, attachBlocked(t, w, name, &vmRecord{name}))
	}
	names := func(ths []*suspend.Thread) []string {
		var out []string
		for _, th := range ths {
			v, ok := th.Value().(*vmRecord)
			if !ok || v.name != th.Name() {
				t.Errorf("thread %q has the value %#v", th.Name(), th.Value())
			}
			out = append(out, th.Name())
		}
		return out
	}
	if got := names(w.Threads()); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("Threads: %v", got)
	}

	// a leaves before b is looked at: the registry moves its last entry
	// into a's slot, and the list must still be in attach order.
	guests[0].end(true)
	if guests[0].detachE != nil {
		t.Fatal(guests[0].detachE)
	}
	if got := names(w.Threads()); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("Threads after a detached: %v", got)
	}

	s := stopWorld(t, w)
	if got := names(w.Threads()); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("Threads while stopped: %v", got)
	}
	for _, ti := range s.Threads() {
		if ti.Thread == nil || ti.Thread.Name() != ti.Name || ti.Thread.ID() != ti.ID {
			t.Errorf("ThreadInfo %q names the thread %v", ti.Name, ti.Thread)
			continue
		}
		if v, ok := ti.Thread.Value().(*vmRecord); !ok || v.name != ti.Name {
			t.Errorf("stopped thread %q has the value %#v", ti.Name, ti.Thread.Value())
		}
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}

	// c ends without Detach; nothing else refers to its thread.
	guests[2].end(false)
	guests[2].th = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := names(w.Threads())
		if slices.Equal(got, []string{"b", "d"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Threads still lists %v 10 s after c's goroutine ended", got)
		}
		runtime.GC()
	}
	guests[1].end(true)
	guests[3].end(true)
	if got := w.Threads(); len(got) != 0 {
		t.Errorf("Threads after every guest left: %v", names(got))
	}
}

// TestThreadValueIsNilWithoutWithValue: a thread attached without
// WithValue has none.
func TestThreadValueIsNilWithoutWithValue(t *testing.T) {
	w := newWorld(t)
	th, err := w.Attach("plain")
	if err != nil {
		t.Fatal(err)
	}
	if th.Value() != nil {
		t.Errorf("Value: %#v", th.Value())
	}
	if err := th.Detach(); err != nil {
		t.Fatal(err)
	}
}
