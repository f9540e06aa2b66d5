package starsuspend_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
	"github.com/coopsuspend/coopsuspend/suspendtest"
)

const loop = `
def spin(n):
    t = 0
    for i in range(n):
        t += i
    return t
r = spin(N)
`

// execSrc runs src with N predeclared; it returns the error and the steps.
func execSrc(st *starlark.Thread, src string, n int, predeclared starlark.StringDict) (starlark.StringDict, error) {
	env := starlark.StringDict{"N": starlark.MakeInt(n)}
	for k, v := range predeclared {
		env[k] = v
	}
	return starlark.ExecFileOptions(&syntax.FileOptions{}, st, "test.star", src, env)
}

// TestStepLimitKept: the embedder's step limit cancels at the same step
// with and without the adapter, and the embedder's OnMaxSteps runs at the
// same steps and may extend the limit, at every K: K=1 (the hook's own
// closure), K that divides the limits or not, K equal to a limit, and K
// so large that the next poll overflows.
func TestStepLimitKept(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))

	// Default behaviour: cancelled with "too many steps".
	plain := &starlark.Thread{}
	plain.SetMaxExecutionSteps(5000)
	_, perr := execSrc(plain, loop, 100000, nil)

	// The embedder's OnMaxSteps: called at the limit, extends it twice
	// (through setLimit), then cancels. It records the steps it ran at.
	budget := func(at *[]uint64, setLimit func(st *starlark.Thread, max uint64)) func(*starlark.Thread) {
		return func(st *starlark.Thread) {
			*at = append(*at, st.Steps)
			if len(*at) < 3 {
				setLimit(st, st.Steps+1000)
			} else {
				st.Cancel("budget")
			}
		}
	}
	var want []uint64
	budgeted := &starlark.Thread{}
	budgeted.OnMaxSteps = budget(&want, (*starlark.Thread).SetMaxExecutionSteps)
	budgeted.SetMaxExecutionSteps(3000)
	if _, err := execSrc(budgeted, loop, 100000, nil); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("run without the adapter ended with %v, want the embedder's cancellation", err)
	}
	if len(want) != 3 {
		t.Fatalf("OnMaxSteps at steps %v without the adapter, want 3 calls", want)
	}

	for _, k := range []uint64{1, 2, 7, 64, 1000, 5000, math.MaxUint64} {
		t.Run(fmt.Sprint("K=", k), func(t *testing.T) {
			adapted := &starlark.Thread{}
			err := starsuspend.Run(w, adapted, "limited", func(g *starsuspend.Guest) error {
				g.SetMaxExecutionSteps(5000)
				_, err := execSrc(adapted, loop, 100000, nil)
				return err
			}, starsuspend.WithPollEvery(k))
			if perr == nil || err == nil || perr.Error() != err.Error() || plain.Steps != adapted.Steps {
				t.Fatalf("plain: %v after %d steps; adapted: %v after %d steps", perr, plain.Steps, err, adapted.Steps)
			}

			adapted = &starlark.Thread{}
			var got []uint64
			adapted.OnMaxSteps = budget(&got, func(st *starlark.Thread, max uint64) {
				starsuspend.GuestOf(st).SetMaxExecutionSteps(max)
			})
			err = starsuspend.Run(w, adapted, "budgeted", func(g *starsuspend.Guest) error {
				g.SetMaxExecutionSteps(3000)
				_, err := execSrc(adapted, loop, 100000, nil)
				return err
			}, starsuspend.WithPollEvery(k))
			if err == nil || !strings.Contains(err.Error(), "budget") {
				t.Errorf("adapted run ended with %v, want the embedder's cancellation", err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("OnMaxSteps at steps %v with the adapter, %v without", got, want)
			}
			// Detach gave the thread back its OnMaxSteps and limit.
			if starsuspend.GuestOf(adapted) != nil {
				t.Error("GuestOf after Detach is not nil")
			}
		})
	}
}

// TestRunDetachesOnPanic: a panicking builtin ends Run with the panic,
// and the thread is detached: the world stops without it, and the
// starlark thread can be attached again.
func TestRunDetachesOnPanic(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	st := &starlark.Thread{Name: "panicky"}
	boom := starsuspend.Builtin("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("boom")
	})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the builtin's panic", r)
			}
		}()
		starsuspend.Run(w, st, "panicky", func(*starsuspend.Guest) error {
			_, err := execSrc(st, "boom()", 0, starlark.StringDict{"boom": boom})
			return err
		})
	}()
	if starsuspend.ThreadOf(st) != nil || len(starsuspend.Guests(w)) != 0 {
		t.Fatal("the guest is still attached after the panic")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := w.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Threads()); n != 0 {
		t.Errorf("the stop found %d threads", n)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := starsuspend.Run(w, st, "again", func(*starsuspend.Guest) error {
		_, err := execSrc(st, loop, 10, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMisuseErrors: every wrong use returns an error that names it.
func TestMisuseErrors(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	st := &starlark.Thread{Name: "misused"}
	if _, err := starsuspend.Attach(w, st, "x", starsuspend.WithPollEvery(0)); err == nil || !strings.Contains(err.Error(), "WithPollEvery(0)") {
		t.Errorf("WithPollEvery(0): %v", err)
	}
	if _, err := starsuspend.Attach(nil, st, "x"); err == nil {
		t.Error("Attach to a nil world succeeded")
	}
	g, err := starsuspend.Attach(w, st, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := starsuspend.Attach(w, st, "y"); err == nil || !strings.Contains(err.Error(), "attached already") {
		t.Errorf("second Attach: %v", err)
	}
	if _, err := g.View(); err == nil || !strings.Contains(err.Error(), "not stopped") {
		t.Errorf("View of a running guest: %v", err)
	}
	if err := g.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := g.Detach(); !errors.Is(err, suspend.ErrDetached) {
		t.Errorf("second Detach: %v", err)
	}
	plain := &starlark.Thread{}
	for _, b := range []*starlark.Builtin{
		starsuspend.Builtin("b", nil), starsuspend.Blocking("blk", nil),
	} {
		_, err := execSrc(plain, "f()", 0, starlark.StringDict{"f": b})
		if err == nil || !strings.Contains(err.Error(), "not attached") {
			t.Errorf("%s on an unattached thread: %v", b.Name(), err)
		}
	}
	if _, err := starsuspend.Call(plain, starlark.None, nil, nil); err == nil || !strings.Contains(err.Error(), "not attached") {
		t.Errorf("Call on an unattached thread: %v", err)
	}
}

// TestBlockingBuiltin: a Blocking builtin does not delay a stop, finds its
// thread with ThreadOf, is seen stopped in its region, calls back through
// Call (whose code a stop does wait for), and a plain starlark.Call from
// it is caught with an error that names Call.
func TestBlockingBuiltin(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	st := &starlark.Thread{Name: "io"}
	entered := make(chan *suspend.Thread)
	release := make(chan struct{})
	wait := starsuspend.Blocking("wait", func(st *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		entered <- starsuspend.ThreadOf(st)
		<-release
		return starsuspend.Call(st, args[0], nil, nil)
	})
	wrong := starsuspend.Blocking("wrong", func(st *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return starlark.Call(st, args[0], nil, nil)
	})
	done := make(chan error, 1)
	var guest *starsuspend.Guest
	go func() {
		done <- starsuspend.Run(w, st, "io", func(g *starsuspend.Guest) error {
			guest = g
			env, err := execSrc(st, "def cb():\n    return spin(100)\n"+loop+"\nv = wait(cb)\n", 10, starlark.StringDict{"wait": wait})
			if err != nil {
				return err
			}
			if v := env["v"].String(); v != "4950" {
				return errors.New("the callback returned " + v)
			}
			_, err = execSrc(st, "def cb():\n    return 1\nwrong(cb)\n", 0, starlark.StringDict{"wrong": wrong})
			if err == nil || !strings.Contains(err.Error(), "starsuspend.Call") {
				return errors.New("plain starlark.Call in a Blocking builtin: " + errString(err))
			}
			return nil
		})
	}()
	th := <-entered
	if th == nil || th != guest.Thread() {
		t.Fatal("ThreadOf in the builtin is not the guest's thread")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := starsuspend.StopAll(ctx, w) // does not wait for the builtin
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Guests) != 1 || !snap.Guests[0].InBlocking || !strings.Contains(snap.Guests[0].Where(), "test.star:") {
		t.Errorf("snapshot during the blocking builtin: %+v", snap.Guests)
	}
	close(release) // the builtin returns into a stopped world: it parks
	time.Sleep(10 * time.Millisecond)
	if err := suspendtest.WaitParked(ctx, th); err != nil {
		t.Error(err)
	}
	if err := snap.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestPauseMidLoop: a debugger pauses a guest in the middle of its loop,
// reads its call stack (inside spin, under the top level), sees that its
// step count does not move while paused, and resumes it; the guest's
// result is right.
func TestPauseMidLoop(t *testing.T) {
	w := suspendtest.NewWorld(t, suspend.WithPolicy(suspend.Coop))
	st := &starlark.Thread{Name: "looper"}
	attached := make(chan *starsuspend.Guest)
	done := make(chan error, 1)
	go func() {
		done <- starsuspend.Run(w, st, "looper", func(g *starsuspend.Guest) error {
			attached <- g
			env, err := execSrc(st, loop, 3_000_000, nil)
			if err == nil && env["r"].String() != "4499998500000" {
				err = errors.New("wrong sum " + env["r"].String())
			}
			return err
		})
	}()
	g := <-attached
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	paused := 0
	for paused < 5 {
		p, err := starsuspend.Pause(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		v := p.View
		time.Sleep(time.Millisecond)
		again, verr := g.View()
		if err := p.Resume(); err != nil {
			t.Fatal(err)
		}
		if verr != nil {
			t.Fatal(verr)
		}
		if again.Steps != v.Steps {
			t.Fatalf("steps moved from %d to %d while paused", v.Steps, again.Steps)
		}
		if len(v.Stack) == 0 {
			continue // not started yet
		}
		if len(v.Stack) != 2 || v.Stack[1].Name != "spin" || !strings.HasPrefix(v.Where(), "test.star:") {
			select {
			case err := <-done:
				t.Fatalf("the guest ended (%v) before the pauses", err)
			default:
			}
			t.Fatalf("paused at %v (%s)", v.Stack, v.Where())
		}
		paused++
		if err := p.Resume(); err == nil {
			t.Fatal("a second Resume succeeded")
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
