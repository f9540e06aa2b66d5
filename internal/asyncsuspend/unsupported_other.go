//go:build !linux

package asyncsuspend

// Gettid returns 0: outside Linux nothing here uses thread ids (no
// record is registered, no signal is sent to a thread).
func Gettid() int { return 0 }

// ThreadExists reports true: outside Linux there is no thread id to ask
// the kernel about.
func ThreadExists(tid int) bool { return true }
