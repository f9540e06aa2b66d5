package coroutine

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestReadyQueueOrder checks readyQueue against a model, a list kept in
// (priority, push order) order, under random pushes, pops, steals and
// removals: every operation returns what the model says, and the counts
// match.
func TestReadyQueueOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q readyQueue
		var model []*entry // in queue order
		home := &runner{}
		nextID := uint64(0)
		insert := func(e *entry) {
			i := len(model)
			for i > 0 && model[i-1].priority > e.priority {
				i--
			}
			model = slices.Insert(model, i, e)
		}
		// takeFromModel removes from the model, in its order, the entries
		// take picks, and returns them.
		takeFromModel := func(take func(*entry) bool) []*entry {
			var taken, kept []*entry
			for _, e := range model {
				if take(e) {
					taken = append(taken, e)
				} else {
					kept = append(kept, e)
				}
			}
			model = kept
			return taken
		}
		check := func(what string, got, want []*entry) {
			if !slices.Equal(got, want) {
				t.Fatalf("%s: got %v, want %v", what, ids(got), ids(want))
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				nextID++
				e := &entry{id: nextID, priority: rapid.IntRange(-2, 2).Draw(t, "priority")}
				if rapid.Bool().Draw(t, "bound") {
					e.home = home
				}
				q.push(e)
				insert(e)
			},
			"pop": func(t *rapid.T) {
				var want []*entry
				if len(model) > 0 {
					want, model = model[:1], model[1:]
				}
				var got []*entry
				if e := q.pop(); e != nil {
					got = []*entry{e}
				}
				check("pop", got, want)
			},
			"takeStealable": func(t *rapid.T) {
				n := rapid.IntRange(0, 5).Draw(t, "n")
				taken := 0
				want := takeFromModel(func(e *entry) bool {
					if taken < n && e.home == nil {
						taken++
						return true
					}
					return false
				})
				check("takeStealable", q.takeStealable(n), want)
			},
			"takeWhere": func(t *rapid.T) {
				m := rapid.Uint64Range(2, 4).Draw(t, "modulus")
				take := func(e *entry) bool { return e.id%m == 0 }
				check("takeWhere", q.takeWhere(take), takeFromModel(take))
			},
			"": func(t *rapid.T) {
				bound := 0
				var first *entry
				for _, e := range model {
					if e.home != nil {
						bound++
					} else if first == nil {
						first = e
					}
				}
				if q.len() != len(model) || q.stealable() != len(model)-bound {
					t.Fatalf("len %d stealable %d, want %d and %d", q.len(), q.stealable(), len(model), len(model)-bound)
				}
				if got := q.firstStealable(); got != first {
					t.Fatalf("firstStealable %v, want %v", ids([]*entry{got}), ids([]*entry{first}))
				}
				for i, l := range q.levels {
					if l.len() == 0 && len(q.levels) > 1 {
						t.Fatalf("level %d (priority %d) is empty among %d levels", i, l.priority, len(q.levels))
					}
					if i > 0 && q.levels[i-1].priority >= l.priority {
						t.Fatalf("levels out of order: %d then %d", q.levels[i-1].priority, l.priority)
					}
				}
			},
		})
	})
}

func ids(es []*entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		if e != nil {
			out[i] = e.id
		}
	}
	return out
}

// TestReadyQueueLongFIFO: a queue that is pushed and popped in turn for
// a long time keeps its buffer bounded (the popped prefix is reclaimed).
func TestReadyQueueLongFIFO(t *testing.T) {
	var q readyQueue
	es := make([]*entry, 100)
	for i := range es {
		es[i] = &entry{id: uint64(i)}
		q.push(es[i])
	}
	for i := range 100_000 {
		e := q.pop()
		if e != es[i%100] {
			t.Fatalf("pop %d: got %d, want %d", i, e.id, es[i%100].id)
		}
		q.push(e)
	}
	if c := cap(q.levels[0].es); c > 400 {
		t.Errorf("a queue of 100 entries holds a buffer of %d", c)
	}
}
