package asyncsuspend

// OnThread is implemented by a monitor target that knows the record of
// the thread it runs on (a scheduler's coroutine), sparing the monitor
// the look-up by thread id. nil means it does not know.
type OnThread interface {
	ThreadRecord() *Record
}
