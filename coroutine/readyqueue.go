package coroutine

// readyQueue is a runner's queue of ready coroutines: the lowest priority
// value first and, within a priority, in the order they were pushed
// (FIFO: a yielding coroutine goes behind the others of its priority).
//
// It keeps one FIFO per priority present, in a slice sorted by priority.
// Most schedulers use one or a few priorities, so a push or a pop costs a
// few loads, where a heap costs log n comparisons (a heap of 500 entries
// was a sixth of a runner's time per resume), and the order needs no
// sequence number shared by the runners. bound counts the entries bound
// to a runner (home set), so that a thief knows at once whether any entry
// may move.
//
// Invariant: no level is empty unless it is the only one (an empty level
// is dropped, its buffer kept in spare), so the first level holds the
// first entry.
type readyQueue struct {
	levels []level
	n      int
	bound  int
	spare  []*entry
}

// level is one priority's FIFO: es[head:] are queued.
type level struct {
	priority int
	es       []*entry
	head     int
}

func (l *level) len() int { return len(l.es) - l.head }

func (q *readyQueue) len() int { return q.n }

// stealable counts the entries that may move to another runner.
func (q *readyQueue) stealable() int { return q.n - q.bound }

func (q *readyQueue) push(e *entry) {
	if e.home != nil {
		q.bound++
	}
	q.n++
	i := 0
	for i < len(q.levels) && q.levels[i].priority < e.priority {
		i++
	}
	if i < len(q.levels) && q.levels[i].priority == e.priority {
		q.levels[i].es = append(q.levels[i].es, e)
		return
	}
	if len(q.levels) == 1 && q.levels[0].len() == 0 {
		// The only level is empty: it becomes this priority's.
		q.levels[0].priority = e.priority
		q.levels[0].es = append(q.levels[0].es, e)
		return
	}
	es := append(q.spare, e)
	q.spare = nil
	q.levels = append(q.levels, level{})
	copy(q.levels[i+1:], q.levels[i:])
	q.levels[i] = level{priority: e.priority, es: es}
}

// pop removes the first entry; nil when the queue is empty.
func (q *readyQueue) pop() *entry {
	if q.n == 0 {
		return nil
	}
	l := &q.levels[0]
	e := l.es[l.head]
	l.es[l.head] = nil
	l.head++
	q.n--
	if e.home != nil {
		q.bound--
	}
	q.settle(0)
	return e
}

// settle restores the invariant after level i lost entries: an emptied
// level restarts at the front of its buffer, and is dropped unless it is
// the only one; a level whose dead prefix outgrows its live part is
// compacted, so a long FIFO does not keep growing.
func (q *readyQueue) settle(i int) {
	l := &q.levels[i]
	switch {
	case l.len() == 0:
		l.es, l.head = l.es[:0], 0
		if len(q.levels) > 1 {
			if q.spare == nil {
				q.spare = l.es
			}
			q.levels = append(q.levels[:i], q.levels[i+1:]...)
			q.levels[len(q.levels):cap(q.levels)][0] = level{} // drop the stale copy's buffer
		}
	case l.head >= 64 && l.head >= l.len():
		n := copy(l.es, l.es[l.head:])
		clear(l.es[n:])
		l.es, l.head = l.es[:n], 0
	}
}

// firstStealable returns the first entry, in the queue's order, that may
// move to another runner, or nil.
func (q *readyQueue) firstStealable() *entry {
	if q.stealable() == 0 {
		return nil
	}
	for i := range q.levels {
		for _, e := range q.levels[i].es[q.levels[i].head:] {
			if e.home == nil {
				return e
			}
		}
	}
	return nil
}

// takeStealable removes and returns up to n entries that may move, first
// ones first; the others keep their order.
func (q *readyQueue) takeStealable(n int) []*entry {
	var taken []*entry
	q.removeWhere(func(e *entry) bool {
		if len(taken) < n && e.home == nil {
			taken = append(taken, e)
			return true
		}
		return false
	})
	return taken
}

// takeWhere removes and returns every entry for which take reports true,
// in the queue's order.
func (q *readyQueue) takeWhere(take func(*entry) bool) []*entry {
	var taken []*entry
	q.removeWhere(func(e *entry) bool {
		if take(e) {
			taken = append(taken, e)
			return true
		}
		return false
	})
	return taken
}

// removeWhere removes the entries for which remove reports true, called
// on every entry in the queue's order; the others keep their order.
func (q *readyQueue) removeWhere(remove func(*entry) bool) {
	for i := range q.levels {
		l := &q.levels[i]
		kept := l.es[:0]
		for _, e := range l.es[l.head:] {
			if !remove(e) {
				kept = append(kept, e)
				continue
			}
			q.n--
			if e.home != nil {
				q.bound--
			}
		}
		clear(l.es[len(kept):])
		l.es, l.head = kept, 0
	}
	for i := len(q.levels) - 1; i >= 0; i-- {
		q.settle(i)
	}
}
