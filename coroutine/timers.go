package coroutine

import "container/heap"

// timerHeap holds the delayed coroutines, earliest WakeAt first.
type timerHeap struct{ es []*entry }

func (h *timerHeap) push(e *entry) { heap.Push(h, e) }
func (h *timerHeap) len() int      { return len(h.es) }
func (h *timerHeap) first() *entry { return h.es[0] }
func (h *timerHeap) pop() *entry   { return heap.Pop(h).(*entry) }

// takeWhere removes and returns every entry for which take reports true,
// in no particular order.
func (h *timerHeap) takeWhere(take func(*entry) bool) []*entry {
	var taken []*entry
	kept := h.es[:0]
	for _, e := range h.es {
		if take(e) {
			taken = append(taken, e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(h.es[len(kept):])
	h.es = kept
	heap.Init(h)
	return taken
}

// Len, Less, Swap, Push and Pop are for container/heap only.
func (h *timerHeap) Len() int { return len(h.es) }
func (h *timerHeap) Less(i, j int) bool {
	return h.es[i].co.state.WakeAt.Before(h.es[j].co.state.WakeAt)
}
func (h *timerHeap) Swap(i, j int) { h.es[i], h.es[j] = h.es[j], h.es[i] }
func (h *timerHeap) Push(x any)    { h.es = append(h.es, x.(*entry)) }
func (h *timerHeap) Pop() any {
	e := h.es[len(h.es)-1]
	h.es[len(h.es)-1] = nil
	h.es = h.es[:len(h.es)-1]
	return e
}
