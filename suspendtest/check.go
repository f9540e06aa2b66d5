package suspendtest

import (
	"errors"
	"fmt"

	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/threadstate"
)

// CheckStopped checks a stopped world against its policy: every thread
// the stop reports is in one of p's end states (p.EndStates), and the
// flags of its ThreadInfo agree with its word (Parked with a parked
// state, InSafeRegion with BlockingSuspendRequested, Async with an
// asynchronously suspended state). Each thread's suspend count must be at
// least one: the stop itself holds it.
//
// The error names every thread that is wrong, with its word.
func CheckStopped(p suspend.Policy, s *suspend.Stopped) error {
	var errs []error
	end := p.EndStates()
	for _, ti := range s.Threads() {
		st := ti.Word.State()
		switch {
		case !end.Has(st):
			errs = append(errs, fmt.Errorf("suspendtest: thread %q (id %d) is %v, not in %v's stopped states %v", ti.Name, ti.ID, ti.Word, p, end))
		case ti.Word.Count() < 1:
			errs = append(errs, fmt.Errorf("suspendtest: thread %q (id %d) is %v: a stopped thread's suspend count is at least 1", ti.Name, ti.ID, ti.Word))
		case ti.Parked != st.IsParked():
			errs = append(errs, fmt.Errorf("suspendtest: thread %q (id %d) is %v but reported Parked=%v", ti.Name, ti.ID, ti.Word, ti.Parked))
		case ti.InSafeRegion != (st == threadstate.BlockingSuspendRequested):
			errs = append(errs, fmt.Errorf("suspendtest: thread %q (id %d) is %v but reported InSafeRegion=%v", ti.Name, ti.ID, ti.Word, ti.InSafeRegion))
		case ti.Async && st != threadstate.AsyncSuspended && st != threadstate.BlockingAsyncSuspended:
			errs = append(errs, fmt.Errorf("suspendtest: thread %q (id %d) is %v but reported Async=%v", ti.Name, ti.ID, ti.Word, ti.Async))
		}
	}
	return errors.Join(errs...)
}
