// Package testenv stands for the project's own: the checker accepts a loop
// in a function that calls NeedsAsyncPreemption.
package testenv

import "testing"

func NeedsAsyncPreemption(t testing.TB, why string) {}
