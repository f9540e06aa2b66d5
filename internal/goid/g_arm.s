#include "textflag.h"

// func G() uintptr: the runtime keeps the goroutine in its g register.
TEXT ·G(SB), NOSPLIT, $0-4
	MOVW g, R0
	MOVW R0, ret+0(FP)
	RET
