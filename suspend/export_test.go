package suspend

// Balanced checks invariant I14 from tests: nothing pending, every
// notification consumed. Call it only while no initiator is active.
func Balanced(w *World) error { return w.notifier.Balanced() }

// SetTestHook sets the hook called at every phase boundary of the
// operations that hold the suspend lock; nil removes it. Call it only
// while no operation runs.
func SetTestHook(fn func(op, phase string)) { testHookFn = fn }
