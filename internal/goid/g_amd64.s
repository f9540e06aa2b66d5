#include "textflag.h"

// func G() uintptr: the runtime keeps the goroutine in thread-local
// storage (and in R14 inside Go code; this ABI0 function reads TLS).
TEXT ·G(SB), NOSPLIT, $0-8
	MOVQ TLS, CX
	MOVQ 0(CX)(TLS*1), AX
	MOVQ AX, ret+0(FP)
	RET
