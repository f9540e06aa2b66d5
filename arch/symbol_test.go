//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package arch

import (
	"bufio"
	"encoding/binary"
	"os"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
)

// vdsoBase returns the address of the vDSO's ELF header (AT_SYSINFO_EHDR
// in the auxiliary vector), or 0.
func vdsoBase(t *testing.T) uintptr {
	f, err := os.Open("/proc/self/auxv")
	if err != nil {
		t.Skipf("no auxiliary vector to find the vDSO: %v", err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	r := bufio.NewReader(f)
	for {
		// Each entry is two words of the machine's size.
		var kv [2]uint64
		var err error
		if unsafe.Sizeof(uintptr(0)) == 4 {
			var kv32 [2]uint32
			err = binary.Read(r, binary.NativeEndian, &kv32)
			kv = [2]uint64{uint64(kv32[0]), uint64(kv32[1])}
		} else {
			err = binary.Read(r, binary.NativeEndian, &kv)
		}
		if err != nil || kv[0] == 0 {
			return 0
		}
		if kv[0] == 33 { // AT_SYSINFO_EHDR
			return uintptr(kv[1])
		}
	}
}

//go:noinline
func program() uintptr {
	var c Context
	Capture(&c)
	return c.PC
}

// TestPlace: the classes of real program counters, and of the frames
// the race runtime's code symbolises to.
func TestPlace(t *testing.T) {
	pcs := []struct {
		name string
		pc   uintptr
		want Place
	}{
		{"this test's code", program(), InProgram},
		{"runtime.Gosched", reflect.ValueOf(runtime.Gosched).Pointer(), InRuntime},
		{"address 0", 0, InUnknown},
	}
	if base := vdsoBase(t); base != 0 {
		pcs = append(pcs, struct {
			name string
			pc   uintptr
			want Place
		}{"the vDSO", base + 0x100, InUnknown})
	} else {
		t.Log("no vDSO in the auxiliary vector: not checked")
	}
	for _, c := range pcs {
		fr := Symbolize(c.pc)
		if got := fr.Place(); got != c.want {
			t.Errorf("%s: %v is in %v, want %v", c.name, fr, got, c.want)
		}
	}
	foreign := InUnknown
	if raceEnabled {
		foreign = InRace
	}
	frames := []struct {
		fr   Frame
		want Place
	}{
		{Frame{Function: "__tsan_go_atomic32_load", File: "?"}, InRace},
		{Frame{Function: "_ZN6__tsan9ShadowSetEPNS_8RawShadowES1_S0_", File: "?"}, foreign},
		{Frame{Function: "runtime.futex", File: runtimeDir + "/sys_linux_amd64.s", Line: 570}, InRuntime},
		{Frame{Function: "runtime.racecallatomic", File: runtimeDir + "/race_amd64.s", Line: 10}, InRace},
		{Frame{Function: "sync/atomic.LoadInt32", File: runtimeDir + "/race_amd64.s", Line: 10}, InRace},
		{Frame{Function: "internal/runtime/atomic.Load", File: "/x/internal/runtime/atomic/a.go", Line: 1}, InRuntime},
		{Frame{Function: "internal/race.Read", File: "/x/internal/race/race.go", Line: 1}, InRace},
		{Frame{Function: "runtime/pprof.Do", File: "/x/runtime/pprof/runtime.go", Line: 1}, InProgram},
		{Frame{Function: "runtime.memmove", File: runtimeDir + "/memmove_amd64.s", Line: 1, InlinedInto: "example.com/vm.copy"}, InProgram},
		{Frame{Function: "example.com/vm.(*VM).run", File: "/src/vm/vm.go", Line: 10}, InProgram},
		{Frame{Function: "example.com/vm/runtime.run", File: "/src/vm/runtime/r.go", Line: 10}, InProgram},
	}
	for _, c := range frames {
		if got := c.fr.Place(); got != c.want {
			t.Errorf("%v is in %v, want %v", c.fr, got, c.want)
		}
	}
}
