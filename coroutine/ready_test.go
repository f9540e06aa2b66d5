package coroutine

import (
	"strings"
	"testing"
	"time"
)

// TestReadyOnlyWhenDue: the scheduler's Suspended→Ready move is refused
// before WakeAt, and so is Syscall→Ready before the call returns; both
// refusals name the statuses and change nothing.
func TestReadyOnlyWhenDue(t *testing.T) {
	c := New(func(s *Task, _ struct{}) int {
		s.Delay(struct{}{}, time.Hour)
		return 0
	}, WithName("late"))
	if err := c.ready(); err == nil || !strings.Contains(err.Error(), `"late": unexpected Ready->Ready`) {
		t.Errorf("ready() of a Ready coroutine: %v", err)
	}
	if _, err := c.Resume(struct{}{}); err != nil {
		t.Fatal(err)
	}
	err := c.ready()
	if err == nil || !strings.Contains(err.Error(), "unexpected Suspended->Ready: not due until") {
		t.Errorf("ready() before WakeAt: %v", err)
	}
	if c.Status() != Suspended {
		t.Errorf("a refused ready() left %v", c.Status())
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}

	blocking := New(func(s *Task, _ struct{}) int {
		s.Blocking(func() {})
		return 1
	}, Option{"offload", forNew, func(c *config) { c.offload = true }})
	st, _ := blocking.Resume(struct{}{})
	if st.Status != Syscall || st.Syscall != SyscallExecuting {
		t.Fatalf("%+v", st)
	}
	if err := blocking.ready(); err == nil || !strings.Contains(err.Error(), "unexpected Syscall->Ready") {
		t.Errorf("ready() before the call returned: %v", err)
	}
	fn := blocking.takeBlocking()
	fn()
	blocking.blockingDone.Store(true)
	if err := blocking.ready(); err != nil {
		t.Fatal(err)
	}
	if st, err := blocking.Resume(struct{}{}); err != nil || st.Status != Complete {
		t.Fatalf("%+v %v", st, err)
	}
}
