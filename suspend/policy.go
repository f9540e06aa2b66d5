package suspend

import (
	"fmt"
	"os"
	"strings"

	"github.com/coopsuspend/coopsuspend/threadstate"
)

// Policy is how a world stops its threads. The values are Mono's.
type Policy uint8

const (
	// Preemptive stops threads asynchronously wherever Go allows it:
	// threads inside a system call made through safepoint's syscall
	// wrappers, whatever their state word says. Everywhere else, and
	// always for Go code, it is cooperative (docs/go-rules.md rules 1, 2,
	// 7). It needs coopsuspend's signal handler: on a platform without
	// one (arch.Supported reports false) it does not fall back to Coop:
	// NewWorld fails with an error wrapping arch.ErrUnsupported. Hybrid
	// behaves the same way there.
	Preemptive Policy = 1
	// Coop stops threads at their polls; a thread inside a blocking region
	// counts as stopped and parks if it leaves the region during the stop.
	// No signals, no locked OS threads. The default.
	Coop Policy = 2
	// Hybrid is Coop plus a mop-up phase: threads still inside their
	// blocking region after the first phase are stopped asynchronously if
	// they are in a wrapped system call; the others count as stopped in
	// their region, as in Coop.
	Hybrid Policy = 3
)

// PolicyEnv is the environment variable NewWorld reads when no WithPolicy
// option is given: "coop", "hybrid" or "preemptive".
const PolicyEnv = "COOPSUSPEND_POLICY"

var policyNames = map[Policy]string{Preemptive: "preemptive", Coop: "coop", Hybrid: "hybrid"}

func (p Policy) String() string {
	if s, ok := policyNames[p]; ok {
		return s
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// Valid reports whether p is one of the three policies.
func (p Policy) Valid() bool { _, ok := policyNames[p]; return ok }

// ParsePolicy parses a policy name: "coop", "hybrid" or "preemptive"
// (case-insensitive, surrounding spaces ignored).
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "coop":
		return Coop, nil
	case "hybrid":
		return Hybrid, nil
	case "preemptive":
		return Preemptive, nil
	}
	return 0, fmt.Errorf("suspend: unknown suspend policy %q: must be one of coop, hybrid, preemptive", s)
}

// policyFromEnv returns the policy named by PolicyEnv, Coop if it is unset
// or empty, and an error naming the variable if its value is unknown.
func policyFromEnv() (Policy, error) {
	v, ok := os.LookupEnv(PolicyEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return Coop, nil
	}
	p, err := ParsePolicy(v)
	if err != nil {
		return Coop, fmt.Errorf("%s: %w", PolicyEnv, err)
	}
	return p, nil
}

// usesSignals reports whether the policy suspends asynchronously, and so
// needs its threads locked to their OS threads (docs/go-rules.md rule 5).
func (p Policy) usesSignals() bool { return p == Hybrid || p == Preemptive }

// States returns the states a thread can reach under p: Mono's sets for
// coop and hybrid; Go's preemptive policy reaches the hybrid set, because
// it stops Go code cooperatively and only wrapped system calls
// asynchronously.
func (p Policy) States() threadstate.StateSet {
	if p == Coop {
		return threadstate.MonoCoopStates
	}
	return threadstate.MonoHybridStates
}

// EndStates returns the states a stop of the world can leave a thread in
// under p: parked at a poll or on the way out of a blocking region,
// asynchronously suspended in a wrapped system call (hybrid, preemptive),
// or still running inside its blocking region, which counts as stopped.
func (p Policy) EndStates() threadstate.StateSet {
	s := threadstate.States(threadstate.SelfSuspended, threadstate.BlockingSelfSuspended,
		threadstate.BlockingSuspendRequested)
	if p != Coop {
		s = s.With(threadstate.BlockingAsyncSuspended)
	}
	return s
}
