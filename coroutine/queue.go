package coroutine

import "container/heap"

// byPriority orders a ready queue: priority, then submission (FIFO).
func byPriority(a, b *entry) bool {
	if a.priority != b.priority {
		return a.priority < b.priority
	}
	return a.seq < b.seq
}

// byWakeAt orders the timers.
func byWakeAt(a, b *entry) bool { return a.co.state.WakeAt.Before(b.co.state.WakeAt) }

// queue is a priority queue of entries in less's order. bound counts the
// entries bound to a runner (home set), so that a thief knows at once
// whether the whole queue may move.
type queue struct {
	es    []*entry
	less  func(a, b *entry) bool
	bound int
}

func (q *queue) push(e *entry) {
	if e.home != nil {
		q.bound++
	}
	heap.Push(q, e)
}

func (q *queue) len() int      { return len(q.es) }
func (q *queue) first() *entry { return q.es[0] }

// pop removes the first entry; nil when the queue is empty.
func (q *queue) pop() *entry {
	if len(q.es) == 0 {
		return nil
	}
	e := heap.Pop(q).(*entry)
	if e.home != nil {
		q.bound--
	}
	return e
}

// stealable counts the entries that may move to another runner.
func (q *queue) stealable() int { return len(q.es) - q.bound }

// firstStealable returns the first entry, in the queue's order, that may
// move to another runner, or nil.
func (q *queue) firstStealable() *entry {
	if q.stealable() == 0 {
		return nil
	}
	if q.bound == 0 {
		return q.es[0]
	}
	var best *entry
	for _, e := range q.es {
		if e.home == nil && (best == nil || q.less(e, best)) {
			best = e
		}
	}
	return best
}

// takeStealable removes and returns up to n entries that may move, first
// ones first.
func (q *queue) takeStealable(n int) []*entry {
	var taken, kept []*entry
	for len(taken) < n && len(q.es) > 0 {
		e := q.pop()
		if e.home == nil {
			taken = append(taken, e)
		} else {
			kept = append(kept, e)
		}
	}
	for _, e := range kept {
		q.push(e)
	}
	return taken
}

// takeWhere removes and returns every entry for which take reports true,
// in no particular order.
func (q *queue) takeWhere(take func(*entry) bool) []*entry {
	var taken []*entry
	kept := q.es[:0]
	for _, e := range q.es {
		if take(e) {
			taken = append(taken, e)
			if e.home != nil {
				q.bound--
			}
		} else {
			kept = append(kept, e)
		}
	}
	clear(q.es[len(kept):])
	q.es = kept
	heap.Init(q)
	return taken
}

// Len, Less, Swap, Push and Pop are for container/heap only.
func (q *queue) Len() int           { return len(q.es) }
func (q *queue) Less(i, j int) bool { return q.less(q.es[i], q.es[j]) }
func (q *queue) Swap(i, j int)      { q.es[i], q.es[j] = q.es[j], q.es[i] }
func (q *queue) Push(x any)         { q.es = append(q.es, x.(*entry)) }
func (q *queue) Pop() any {
	e := q.es[len(q.es)-1]
	q.es[len(q.es)-1] = nil
	q.es = q.es[:len(q.es)-1]
	return e
}
