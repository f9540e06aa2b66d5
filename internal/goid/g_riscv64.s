#include "textflag.h"

// func G() uintptr: the runtime keeps the goroutine in its g register.
TEXT ·G(SB), NOSPLIT, $0-8
	MOV g, A0
	MOV A0, ret+0(FP)
	RET
