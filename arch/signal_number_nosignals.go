//go:build windows || js

package arch

import "syscall"

// DefaultSignal is the zero signal: this platform delivers no signals to
// threads (there is no SIGURG to share with Go's preemption), so nothing
// is ever sent on it; Install fails with ErrUnsupported.
const DefaultSignal = syscall.Signal(0)

// ValidSignal fails: no signal can carry a handler on this platform.
func ValidSignal(sig syscall.Signal) error { return unsupported() }
