package coroutine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coopsuspend/coopsuspend/coroutine"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

// TestOptionsApplyWhereTheySay: an option given to a constructor it does
// not apply to is an error wrapping ErrOptionScope that names it, never
// silently dropped: New's coroutine refuses its first Resume, a
// scheduler refuses Run, a submitted coroutine ends Failed. The right
// options go on working beside a misplaced one.
func TestOptionsApplyWhereTheySay(t *testing.T) {
	w := suspendtest.NewWorld(t)
	body := func(s *coroutine.Task, _ struct{}) int { return 7 }

	for _, o := range []struct {
		name string
		opt  coroutine.Option
	}{{"WithWorld", coroutine.WithWorld(w)}, {"WithPriority", coroutine.WithPriority(1)}, {"the zero Option", coroutine.Option{}}} {
		c := coroutine.New(body, coroutine.WithName("misplaced"), o.opt)
		_, err := c.Resume(struct{}{})
		if !errors.Is(err, coroutine.ErrOptionScope) || !strings.Contains(err.Error(), `"misplaced"`) ||
			(o.name != "the zero Option" && !strings.Contains(err.Error(), o.name)) {
			t.Errorf("New with %s: Resume = %v, want ErrOptionScope naming the coroutine and the option", o.name, err)
		}
		if c.Status() != coroutine.Ready {
			t.Errorf("New with %s: the refused Resume left %v", o.name, c.Status())
		}
	}

	for _, opt := range []coroutine.Option{coroutine.WithPriority(1), coroutine.WithLogger(nil)} {
		s := coroutine.NewScheduler(coroutine.WithName("sched"), opt)
		s.Submit(func(*coroutine.Task) any { return nil })
		if err := s.Run(context.Background()); !errors.Is(err, coroutine.ErrOptionScope) {
			t.Errorf("NewScheduler with a misplaced option: Run = %v, want ErrOptionScope", err)
		}
	}

	s := coroutine.NewScheduler()
	bad := s.Submit(func(*coroutine.Task) any { return "ran" }, coroutine.WithWorld(w))
	good := s.Submit(func(*coroutine.Task) any { return "ran" }, coroutine.WithPriority(-1), coroutine.WithName("good"))
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, ok := s.Result(bad); !ok || st.Status != coroutine.Failed || !errors.Is(st.Err, coroutine.ErrOptionScope) ||
		!strings.Contains(st.Err.Error(), "WithWorld") {
		t.Errorf("Submit with WithWorld: %+v, %v; want Failed with ErrOptionScope", st, ok)
	}
	if st, ok := s.Result(good); !ok || st.Status != coroutine.Complete || st.Result != "ran" {
		t.Errorf("Submit with its own options: %+v, %v", st, ok)
	}
}
