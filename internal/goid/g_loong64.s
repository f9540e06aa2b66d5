#include "textflag.h"

// func G() uintptr: the runtime keeps the goroutine in its g register.
TEXT ·G(SB), NOSPLIT, $0-8
	MOVV g, R4
	MOVV R4, ret+0(FP)
	RET
