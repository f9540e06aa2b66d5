package testchild

import (
	"syscall"
	"testing"
)

// RunInNewPIDNamespace is Run with the child in a PID namespace of its
// own (CLONE_NEWPID), where it is process 1 and the ids of its threads are
// its own to choose: a thread created after a write of n to
// /proc/sys/kernel/ns_last_pid gets id n+1 if it is free. It skips t where
// the namespace cannot be made (that takes CAP_SYS_ADMIN).
func RunInNewPIDNamespace(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	run(t, nil, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}, body)
}
