package starsuspend_test

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// A debugger stops every starlark guest, reads where each one stands in
// its own call stack, and lets them all go on.
func ExampleStopAll() {
	w, err := suspend.NewWorld(suspend.WithPolicy(suspend.Coop))
	if err != nil {
		fmt.Println(err)
		return
	}
	const src = `
def inner(n):
    t = 0
    for i in range(n):
        t += i % 7
    return t

def outer():
    ready()
    while not done():
        inner(1000)
`
	stop := make(chan struct{})
	done := starlark.NewBuiltin("done", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		select {
		case <-stop:
			return starlark.True, nil
		default:
			return starlark.False, nil
		}
	})
	running := make(chan struct{}, 2)
	ready := starlark.NewBuiltin("ready", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		running <- struct{}{}
		return starlark.None, nil
	})
	results := make(chan error, 2)
	for _, name := range []string{"job-1", "job-2"} {
		go func() {
			st := &starlark.Thread{Name: name}
			results <- starsuspend.Run(w, st, name, func(g *starsuspend.Guest) error {
				_, err := starlark.ExecFileOptions(&syntax.FileOptions{While: true}, st, name+".star",
					src+"outer()\n", starlark.StringDict{"done": done, "ready": ready})
				return err
			})
		}()
	}
	<-running
	<-running

	snap, err := starsuspend.StopAll(context.Background(), w)
	if err != nil {
		fmt.Println(err)
		return
	}
	views := snap.Guests
	slices.SortFunc(views, func(a, b starsuspend.View) int { return strings.Compare(a.Name, b.Name) })
	for _, v := range views {
		// Stack[0] is the file's top level, Stack[1] outer; below that
		// the guest is in inner or between two calls, wherever the stop
		// found it (v.Where() says exactly).
		var names []string
		for _, fr := range v.Stack[:min(2, len(v.Stack))] {
			names = append(names, fr.Name)
		}
		fmt.Println(v.Name, strings.Join(names, " > "), v.Steps > 0)
	}
	if err := snap.Restart(); err != nil {
		fmt.Println(err)
	}

	close(stop)
	for range 2 {
		if err := <-results; err != nil {
			fmt.Println(err)
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// job-1 <toplevel> > outer true
	// job-2 <toplevel> > outer true
}
