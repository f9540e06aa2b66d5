// Package modelhooks is how the explorer (internal/modelcheck, built with
// the coopmodel tag) reaches inside threadstate and suspend without
// adding anything to their public API: go doc prints the same packages
// with and without the tag (internal/apicheck tests it).
//
// The hooks are variables. Package threadstate reads Observe in its
// coopmodel build; package suspend fills in the others from its
// coopmodel build's init functions, and they stay nil in every other
// build. The explorer sets Observe from its own init and calls the rest.
//
// This package cannot name suspend's or threadstate's types (both import
// it), so the hooks take and return them as any; the comment on each
// says what it holds.
package modelhooks

// Observe sees, when set, every transition any threadstate.Cell
// publishes, at the moment it takes effect: cell is the *threadstate.Cell
// and transition its threadstate.Transition. The explorer runs one
// goroutine at a time and never switches between a compare-and-swap and
// this call, so the order observed is the order of the swaps. Set it
// before any Cell is used (in an init function): it is read without
// synchronization.
var Observe func(cell, transition any)

// Balanced checks, for a *suspend.World, that nothing is pending and that
// every notification was consumed (invariant I14 of docs/mono-protocol.md).
// Call it only while no initiator is active.
var Balanced func(world any) error

// Cell returns a *suspend.Thread's state word cell, a *threadstate.Cell.
var Cell func(thread any) any

// SimulateHandler gives a *suspend.Thread a simulated signal handler
// (docs/design.md, "Model checking the library") and returns the
// thread's wrapped system call: a call that, made on the thread's own
// goroutine, enters a blocking region and waits in a simulated kernel
// where the simulated handler may park it. Call it before the
// exploration runs the thread.
var SimulateHandler func(thread any) (syscall func())

// ForgetHandlers drops every simulated handler.
var ForgetHandlers func()
