package fuzz

import (
	"testing"

	"github.com/coopsuspend/coopsuspend/internal/stwmodel"
)

// FuzzProtocol: byte 0 picks the policy, byte 1 the number of threads, and
// each following byte the next action among those enabled.
func FuzzProtocol(f *testing.F) {
	for p := byte(0); p < 3; p++ {
		f.Add([]byte{p, 2, 3, 7, 1, 9, 0, 0, 2, 5, 4, 4, 1, 0, 0, 3, 8, 2, 6, 0, 1, 1, 1, 2})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		p := stwmodel.Policies[int(data[0])%len(stwmodel.Policies)]
		threads := 1 + int(data[1])%stwmodel.MaxThreads
		m := stwmodel.New(p, threads)
		var acts []stwmodel.Action
		for i, b := range data[2:] {
			acts = m.Enabled(acts)
			if len(acts) == 0 {
				t.Fatalf("%v, %d threads: deadlock after %d steps", p, threads, i)
			}
			if err := m.Do(acts[int(b)%len(acts)]); err != nil {
				t.Fatalf("%v, %d threads, step %d: %v", p, threads, i, err)
			}
		}
	})
}
