package suspend

// testHookFn is nil except in this package's tests (export_test.go),
// which set it, while no operation runs, to inject a panic at a phase
// boundary of Attach, Detach, Stop, Restart, SuspendThread and
// ResumeThread: the proof that every one of them leaves the world usable
// when something below it panics. Two phases are inside the registry's
// mutex (Attach/publishing, Detach/unregistering), so that a section that
// did not release it would block Dump.
var testHookFn func(op, phase string)

// testHook marks a phase boundary of op. One load of a package variable
// per phase; the operations it marks each cost a lock and a few atomics.
func testHook(op, phase string) {
	if testHookFn != nil {
		testHookFn(op, phase)
	}
}
