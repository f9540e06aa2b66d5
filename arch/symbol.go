package arch

import (
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
)

// Frame is a symbolised program counter: where a sample or a park found
// a thread (Context.Where), or any pc (Symbolize).
type Frame struct {
	PC       uintptr
	Function string // "" when the pc is in no known function
	File     string // the source file of Function at PC
	Line     int    // the line in File; 0 for code without line information
	// InlinedInto names the function the compiler inlined Function into,
	// the one actually executing; "" when Function was not inlined.
	InlinedInto string
}

// String is "function (file:line)", with " inlined into outer" for
// inlined code, or the pc in hex and "(unknown)" when no function covers
// it.
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

// Place says whose code a sampled program counter is in. A sample taken
// by signal catches the thread wherever it is, and much of the time that
// is not the code it was asked about: a thread whose goroutine Go's
// scheduler has descheduled sleeps in the runtime's futex, a call to
// time.Now spends its time in the vDSO, and under the race detector
// every memory access runs ThreadSanitizer's code. Only InProgram says
// where the goroutine itself is.
type Place uint8

const (
	// InProgram: Go code outside the runtime, the goroutine's own
	// position (the standard library's ordinary packages included).
	InProgram Place = iota
	// InRuntime: package runtime or one of its internal packages (the
	// scheduler, the collector, a system call's or a signal's code).
	// While a thread is there it may not be running its goroutine at all.
	InRuntime
	// InRace: the race detector's runtime (ThreadSanitizer, which has no
	// Go line table, and the runtime's glue that calls it).
	InRace
	// InUnknown: no Go symbol covers the pc: the vDSO, or other code the
	// Go symbol table does not describe.
	InUnknown
)

// String names the place in words, for reports.
func (p Place) String() string {
	switch p {
	case InProgram:
		return "the program"
	case InRuntime:
		return "the Go runtime"
	case InRace:
		return "the race runtime"
	case InUnknown:
		return "code without a Go symbol (the vDSO?)"
	}
	return fmt.Sprintf("Place(%d)", uint8(p))
}

// runtimeDir is the directory of package runtime's sources as the line
// table spells it (absolute, or "runtime" under -trimpath), found from a
// function known to be there.
var runtimeDir = func() string {
	f := runtime.FuncForPC(reflect.ValueOf(runtime.Gosched).Pointer())
	if f == nil {
		return ""
	}
	file, _ := f.FileLine(f.Entry())
	return filepath.Dir(file)
}()

// Place classifies the frame; see Place. Code inlined into a function
// belongs where that function does: it is what the thread executes.
func (f Frame) Place() Place {
	name := f.Function
	if f.InlinedInto != "" {
		name = f.InlinedInto
	}
	if name == "" {
		return InUnknown
	}
	if strings.HasPrefix(name, "__tsan") || strings.HasPrefix(name, "__sanitizer") || strings.HasPrefix(name, "__race") {
		return InRace
	}
	switch pkg := funcPackage(name); {
	case pkg == "runtime/race" || pkg == "internal/race":
		return InRace
	case pkg == "runtime" || strings.HasPrefix(pkg, "runtime/internal/") || strings.HasPrefix(pkg, "internal/runtime/"):
		if strings.HasPrefix(filepath.Base(f.File), "race") {
			return InRace
		}
		return InRuntime
	}
	// The race runtime's thunks for sync/atomic carry package names of
	// their own but live in the runtime's race_*.s. (The file of inlined
	// code is the inlined function's, not the executing one's.)
	if f.InlinedInto == "" && runtimeDir != "" && filepath.Dir(f.File) == runtimeDir {
		if strings.HasPrefix(filepath.Base(f.File), "race") {
			return InRace
		}
		return InRuntime
	}
	if f.File == "" || f.File == "?" || f.Line == 0 {
		// A symbol without Go line information: foreign code linked in,
		// which under the race detector is ThreadSanitizer (its C++
		// names do not all start with __tsan).
		if raceEnabled {
			return InRace
		}
		return InUnknown
	}
	return InProgram
}

// funcPackage returns the import path of a function's package from its
// symbol name: the name up to the first dot after the last slash.
func funcPackage(name string) string {
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}
