//go:build linux && (386 || amd64 || arm.7 || arm64 || loong64 || ppc64le || riscv64 || s390x)

package asyncsuspend

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/coopsuspend/coopsuspend/arch"
)

// The sa_flags bits and handler values of the kernel's struct sigaction
// (include/uapi/asm-generic/signal-defs.h), which golang.org/x/sys/unix
// does not declare for Linux.
const (
	saSiginfo = 0x4
	saOnstack = 0x08000000

	sigDfl = 0
	sigIgn = 1
)

// install tracks the signals carrying the handler: each is installed once
// and counted.
var install struct {
	mu   sync.Mutex
	sigs map[syscall.Signal]*installed
}

type installed struct {
	count int
	prev  sigaction
}

// Install installs the handler on sig, in front of the handler Go put
// there. Installs are counted per signal: each needs an Uninstall.
func Install(sig syscall.Signal) error {
	if err := arch.ValidSignal(sig); err != nil {
		return err
	}
	install.mu.Lock()
	defer install.mu.Unlock()
	if in := install.sigs[sig]; in != nil {
		if err := installedLocked(sig); err != nil {
			return err
		}
		in.count++
		return nil
	}
	var old sigaction
	if err := rtSigaction(sig, nil, &old); err != nil {
		return err
	}
	switch old.handler {
	case sigDfl, sigIgn:
		return fmt.Errorf("signal %d has no handler to chain to (it is %s): was signal.Ignore or signal.Reset called?",
			int(sig), map[uintptr]string{sigDfl: "SIG_DFL", sigIgn: "SIG_IGN"}[old.handler])
	case handlerAddr():
		return fmt.Errorf("signal %d already runs this handler", int(sig))
	}
	prevHandlers[sig] = old.handler
	act := old
	act.handler = handlerAddr()
	act.flags |= saOnstack | saSiginfo
	if err := rtSigaction(sig, &act, nil); err != nil {
		return err
	}
	if install.sigs == nil {
		install.sigs = map[syscall.Signal]*installed{}
	}
	install.sigs[sig] = &installed{count: 1, prev: old}
	return nil
}

// Uninstall undoes one Install of sig. The last one puts the previous
// handler back, unless the handler has been replaced meanwhile.
func Uninstall(sig syscall.Signal) {
	install.mu.Lock()
	defer install.mu.Unlock()
	in := install.sigs[sig]
	if in == nil {
		return
	}
	if in.count--; in.count > 0 {
		return
	}
	if installedLocked(sig) == nil {
		// It cannot fail: the kernel read the same signal's action with
		// the same call just now, and in.prev is what it gave at Install.
		_ = rtSigaction(sig, &in.prev, nil)
	}
	delete(install.sigs, sig)
}

// Installed returns nil if the handler is installed on sig and still the
// one the kernel runs for it, and an error saying what is wrong otherwise.
func Installed(sig syscall.Signal) error {
	install.mu.Lock()
	defer install.mu.Unlock()
	if install.sigs[sig] == nil {
		return fmt.Errorf("the signal handler is not installed on signal %d", int(sig))
	}
	return installedLocked(sig)
}

func installedLocked(sig syscall.Signal) error {
	var cur sigaction
	if err := rtSigaction(sig, nil, &cur); err != nil {
		return err
	}
	if cur.handler != handlerAddr() {
		return fmt.Errorf("%w: signal %d (%v) now runs handler %#x (signal.Ignore, signal.Reset or another library?)",
			arch.ErrHandlerReplaced, int(sig), sig, cur.handler)
	}
	if cur.flags&saOnstack == 0 {
		return fmt.Errorf("%w: signal %d lost SA_ONSTACK", arch.ErrHandlerReplaced, int(sig))
	}
	return nil
}

func rtSigaction(sig syscall.Signal, act, old *sigaction) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return fmt.Errorf("rt_sigaction(%d): %w", int(sig), e)
	}
	return nil
}
