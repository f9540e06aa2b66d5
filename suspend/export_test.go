package suspend

// Balanced checks invariant I14 from tests: nothing pending, every
// notification consumed. Call it only while no initiator is active.
func Balanced(w *World) error { return w.notifier.Balanced() }
