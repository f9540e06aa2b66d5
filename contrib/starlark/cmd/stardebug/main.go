// Command stardebug runs a few starlark guests in a coopsuspend world and
// debugs them while they run: it pauses each guest alone, as a debugger
// pauses one thread, then stops them all, and prints every stopped
// guest's starlark call stack and position each time; then it lets them
// finish and checks their results.
//
// Run it with (from the repository's root):
//
//	go -C contrib/starlark run ./cmd/stardebug
//
// Flags: -guests 3 -n 200000 -every 64 -policy coop|hybrid|preemptive.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/coopsuspend/coopsuspend/contrib/starlark/starsuspend"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// program is what each guest runs: a loop nested two calls deep, with a
// blocking builtin (nap) now and then, so that pauses find the guests
// in different places.
const program = `
def work(i):
    x = 0
    for j in range(20):
        x += (i * j) % 7
    return x

def run(n):
    total = 0
    for i in range(n):
        total += work(i)
        if i % 20000 == 0:
            nap()
    return total

result = run(N)
`

type config struct {
	guests int
	n      int
	every  uint64
	policy string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.guests, "guests", 3, "starlark guests")
	flag.IntVar(&cfg.n, "n", 200_000, "outer loop iterations per guest")
	flag.Uint64Var(&cfg.every, "every", starsuspend.DefaultPollEvery, "interpreter steps between polls")
	flag.StringVar(&cfg.policy, "policy", "coop", "suspend policy: coop, hybrid or preemptive")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stardebug:", err)
		os.Exit(1)
	}
}

// want computes run(n) in Go, to check the guests' results.
func want(n int) int64 {
	var total int64
	for i := 0; i < n; i++ {
		for j := 0; j < 20; j++ {
			total += int64(i*j) % 7
		}
	}
	return total
}

func run(cfg config, out io.Writer) (err error) {
	p, err := suspend.ParsePolicy(cfg.policy)
	if err != nil {
		return err
	}
	w, err := suspend.NewWorld(suspend.WithPolicy(p))
	if err != nil {
		return fmt.Errorf("policy %v cannot run here: %w", p, err)
	}
	// The guests have detached when run returns; closing the world gives
	// its signal handler back under hybrid and preemptive.
	defer func() { err = errors.Join(err, w.Close()) }()
	nap := starsuspend.Blocking("nap", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		time.Sleep(200 * time.Microsecond) // a stop does not wait for this
		return starlark.None, nil
	})

	attached := make(chan *starsuspend.Guest, cfg.guests)
	results := make([]starlark.Value, cfg.guests)
	errs := make([]error, cfg.guests)
	var wg sync.WaitGroup
	for i := range cfg.guests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &starlark.Thread{Name: fmt.Sprintf("guest-%d", i)}
			errs[i] = starsuspend.Run(w, st, st.Name, func(g *starsuspend.Guest) error {
				attached <- g
				env, err := starlark.ExecFileOptions(&syntax.FileOptions{}, st, st.Name+".star", program,
					starlark.StringDict{"N": starlark.MakeInt(cfg.n), "nap": nap})
				results[i] = env["result"]
				return err
			}, starsuspend.WithPollEvery(cfg.every))
		}()
	}
	var guests []*starsuspend.Guest
	for range cfg.guests {
		guests = append(guests, <-attached)
	}
	time.Sleep(20 * time.Millisecond) // let them get into their loops

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fmt.Fprintf(out, "policy %v, %d guests, polling every %d steps\n", p, cfg.guests, cfg.every)
	for round := 1; round <= 2; round++ {
		for _, g := range guests {
			pz, err := starsuspend.Pause(ctx, g)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\npause %d: %s alone, at %s after %d steps\n", round, pz.View.Name, where(pz.View), pz.View.Steps)
			fmt.Fprint(out, indent(pz.View.Stack.String()))
			time.Sleep(2 * time.Millisecond)
			again, err := g.View()
			if err != nil {
				return errors.Join(err, pz.Resume())
			}
			if again.Steps != pz.View.Steps {
				return errors.Join(fmt.Errorf("%s moved from step %d to %d while paused", g.Name(), pz.View.Steps, again.Steps), pz.Resume())
			}
			if err := pz.Resume(); err != nil {
				return err
			}
		}
		snap, err := starsuspend.StopAll(ctx, w)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nstop %d: all %d guests stopped\n", round, len(snap.Guests))
		for _, v := range snap.Guests {
			fmt.Fprintf(out, "  %s at %s, %d steps\n", v.Name, where(v), v.Steps)
		}
		if err := snap.Restart(); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}

	wg.Wait()
	fmt.Fprintln(out)
	expected := want(cfg.n)
	for i := range cfg.guests {
		if errs[i] != nil {
			return fmt.Errorf("guest-%d: %w", i, errs[i])
		}
		if got := results[i].String(); got != fmt.Sprint(expected) {
			return fmt.Errorf("guest-%d computed %s, want %d", i, got, expected)
		}
		fmt.Fprintf(out, "guest-%d: result %s, correct\n", i, results[i])
	}
	st := w.Stats()
	fmt.Fprintf(out, "%d stops, time to safepoint %v p50, %v p99\n", st.Stops, st.TimeToSafepoint.P50, st.TimeToSafepoint.P99)
	return nil
}

func where(v starsuspend.View) string {
	s := v.Where()
	if s == "" {
		return "(outside starlark code)"
	}
	if v.InBlocking {
		s += " (inside nap, a blocking builtin)"
	}
	return s
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
