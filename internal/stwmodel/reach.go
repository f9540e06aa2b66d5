package stwmodel

import (
	"sync"

	ts "github.com/coopsuspend/coopsuspend/threadstate"
)

// Reach returns a shortest sequence of events that takes a new (Starting)
// Cell to word w, and whether w can be reached at all. Restore uses it to
// bring fresh Cells to a snapshot's words through real transitions rather
// than by writing words directly.
func Reach(w ts.Word) ([]ts.Event, bool) {
	reachMu.Lock()
	if parent == nil {
		buildReach()
	}
	parent := parent
	reachMu.Unlock()
	if !w.WellFormed() || w > 0xffff {
		return nil, false
	}
	if w != 0 && parent[w].from == noParent {
		return nil, false
	}
	var path []ts.Event
	for w != 0 {
		p := parent[w]
		path = append(path, p.event)
		w = p.from
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, true
}

type edge struct {
	from  ts.Word
	event ts.Event
}

const noParent = ts.Word(0xffffffff)

var (
	reachMu sync.Mutex
	parent  []edge // indexed by word (16 bits); nil until first needed
)

// ForgetReach drops the paths Reach computed, for tests that change the
// transition table.
func ForgetReach() {
	reachMu.Lock()
	parent = nil
	reachMu.Unlock()
}

// buildReach runs a breadth-first search over the word graph from the
// Starting word, with Step as the edge relation.
func buildReach() {
	parent = make([]edge, 1<<16)
	for i := range parent {
		parent[i].from = noParent
	}
	queue := []ts.Word{0}
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		for e := ts.Event(0); e < ts.NumEvents; e++ {
			next, _, err := ts.Step(w, e)
			if err != nil || next == w || next == 0 || parent[next].from != noParent {
				continue
			}
			parent[next] = edge{from: w, event: e}
			queue = append(queue, next)
		}
	}
}
