package arch_test

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"

	"github.com/coopsuspend/coopsuspend/arch"
)

// Capture records the calling goroutine's registers; Where names the code
// they point at, and Place says that it is the program's own.
func ExampleCapture() {
	var c arch.Context
	arch.Capture(&c)
	f := c.Where()
	fmt.Println(strings.TrimPrefix(f.Function, "github.com/coopsuspend/coopsuspend/arch_test."), f.Place() == arch.InProgram)
	// Output: ExampleCapture true
}

// A signal catches a thread wherever it is: a pc in Go's runtime (here
// runtime.Gosched's entry) is not the program's own position, and a pc in
// no known function is unknown.
func ExampleSymbolize() {
	gosched := arch.Symbolize(reflect.ValueOf(runtime.Gosched).Pointer())
	fmt.Println(gosched.Function, gosched.Place() == arch.InRuntime)
	fmt.Println(arch.Symbolize(0).Place() == arch.InUnknown)
	// Output:
	// runtime.Gosched true
	// true
}
