package main

import (
	"fmt"
	"time"

	"github.com/coopsuspend/coopsuspend/safepoint"
	"github.com/coopsuspend/coopsuspend/suspend"
)

// The guest language: a stack machine with a few registers. Registers and
// the operand stack hold values that are either integers or references to
// heap objects; the collector finds its roots there.

type opcode uint8

const (
	opPush  opcode = iota // push the immediate integer
	opNil                 // push a nil reference
	opLoad                // push register arg
	opStore               // pop into register arg
	opAdd                 // pop b, a; push a+b
	opSub                 // pop b, a; push a-b
	opMod                 // pop b, a; push a%b
	opCons                // pop tail, head; push a new object (head, tail)
	opJnz                 // pop; jump to arg if it is not zero (a safepoint when backward)
	opSleep               // native call that blocks for arg microseconds
	opHalt
)

var opNames = [...]string{"push", "nil", "load", "store", "add", "sub", "mod", "cons", "jnz", "sleep", "halt"}

func (o opcode) String() string { return opNames[o] }

type instr struct {
	op  opcode
	arg int64
}

// object is a heap cell: an integer and a reference, enough to build lists.
type object struct {
	head   int64
	tail   *object
	marked bool
}

type value struct {
	n   int64
	ref *object
}

// thread is a guest thread: an attached goroutine running one program.
//
// Who may touch what: the guest thread owns regs, stack, heap and pc while
// it runs GC-unsafe code. The collector and the debugger read them (and the
// collector rewrites heap) only while the thread is stopped: parked, or
// inside a blocking region, where the interpreter does not touch them. The
// stop's transitions order the accesses, so the race detector sees no race.
type thread struct {
	name  string
	th    *suspend.Thread
	prog  []instr
	pc    int
	regs  [4]value
	stack []value
	heap  []*object // objects this thread allocated (a thread-local allocation list)
	steps int64
	done  bool
}

// run interprets the program to its end.
func (t *thread) run() error {
	for {
		in := t.prog[t.pc]
		t.pc++
		t.steps++
		switch in.op {
		case opPush:
			t.push(value{n: in.arg})
		case opNil:
			t.push(value{})
		case opLoad:
			t.push(t.regs[in.arg])
		case opStore:
			t.regs[in.arg] = t.pop()
		case opAdd, opSub, opMod:
			b, a := t.pop().n, t.pop().n
			switch in.op {
			case opAdd:
				t.push(value{n: a + b})
			case opSub:
				t.push(value{n: a - b})
			default:
				if b == 0 {
					return fmt.Errorf("%s: pc %d: mod by zero", t.name, t.pc-1)
				}
				t.push(value{n: a % b})
			}
		case opCons:
			tail, head := t.pop(), t.pop()
			o := &object{head: head.n, tail: tail.ref}
			t.heap = append(t.heap, o)
			t.push(value{ref: o})
		case opJnz:
			if t.pop().n != 0 {
				if int(in.arg) < t.pc {
					// A backward branch is a safepoint: the
					// collector may run here.
					safepoint.Poll(t.th)
				}
				t.pc = int(in.arg)
			}
		case opSleep:
			// A native call that blocks: inside a blocking region a
			// stop does not wait for it, and if the world is stopped
			// when it returns, the thread parks in ExitSafe before it
			// touches the interpreter state again.
			d := time.Duration(in.arg) * time.Microsecond
			safepoint.Blocking(t.th, func() { time.Sleep(d) })
		case opHalt:
			t.done = true
			return nil
		default:
			return fmt.Errorf("%s: pc %d: bad opcode %d", t.name, t.pc-1, in.op)
		}
	}
}

func (t *thread) push(v value) { t.stack = append(t.stack, v) }

func (t *thread) pop() value {
	v := t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	return v
}

// program returns a guest program that sums 1..n into register 2 and, on
// each iteration, conses the counter onto a list in register 1. Every
// keep iterations it drops the list (garbage for the collector) and makes
// a blocking native call of sleepMicros.
//
//	r0 = n
//	loop: r1 = cons(r0, r1); r2 += r0
//	      if r0 % keep == 0 { r1 = nil; sleep }
//	      r0--; if r0 != 0 goto loop
func program(n, keep, sleepMicros int64) []instr {
	var p []instr
	emit := func(op opcode, arg int64) int { p = append(p, instr{op, arg}); return len(p) - 1 }
	emit(opPush, n)
	emit(opStore, 0)
	loop := int64(len(p))
	emit(opLoad, 0)
	emit(opLoad, 1)
	emit(opCons, 0)
	emit(opStore, 1)
	emit(opLoad, 2)
	emit(opLoad, 0)
	emit(opAdd, 0)
	emit(opStore, 2)
	emit(opLoad, 0)
	emit(opPush, keep)
	emit(opMod, 0)
	skip := emit(opJnz, -1) // patched below: forward, not a safepoint
	emit(opNil, 0)
	emit(opStore, 1)
	emit(opSleep, sleepMicros)
	p[skip].arg = int64(len(p))
	emit(opLoad, 0)
	emit(opPush, 1)
	emit(opSub, 0)
	emit(opStore, 0)
	emit(opLoad, 0)
	emit(opJnz, loop)
	emit(opHalt, 0)
	return p
}
