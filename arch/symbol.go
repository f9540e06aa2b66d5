package arch

import (
	"fmt"
	"runtime"
)

// Frame is a symbolised program counter.
type Frame struct {
	PC       uintptr
	Function string // "" when the pc is in no known function
	File     string
	Line     int
	// InlinedInto names the function the compiler inlined Function into,
	// the one actually executing; "" when Function was not inlined.
	InlinedInto string
}

func (f Frame) String() string {
	if f.Function == "" {
		return fmt.Sprintf("%#x (unknown)", f.PC)
	}
	s := fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line)
	if f.InlinedInto != "" {
		s += " inlined into " + f.InlinedInto
	}
	return s
}

// Symbolize names the function, file and line of pc, an exact program
// counter (an interrupted pc, not a return address).
func Symbolize(pc uintptr) Frame {
	fr := Frame{PC: pc}
	f := runtime.FuncForPC(pc)
	if f == nil {
		return fr
	}
	// For inlined code FuncForPC describes the innermost function, with
	// the entry of the function it was inlined into.
	fr.Function = f.Name()
	fr.File, fr.Line = f.FileLine(pc)
	if outer := runtime.FuncForPC(f.Entry()); outer != nil && outer.Name() != fr.Function {
		fr.InlinedInto = outer.Name()
	}
	return fr
}

// Where symbolises the context's pc.
func (c Context) Where() Frame { return Symbolize(c.PC) }
