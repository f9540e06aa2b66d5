//go:build ppc64le || ppc64

#include "textflag.h"

// func G() uintptr: the runtime keeps the goroutine in its g register.
TEXT ·G(SB), NOSPLIT, $0-8
	MOVD g, R3
	MOVD R3, ret+0(FP)
	RET
