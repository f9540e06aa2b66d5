#include "textflag.h"

// func G() uintptr: the runtime keeps the goroutine in thread-local
// storage.
TEXT ·G(SB), NOSPLIT, $0-4
	MOVL TLS, CX
	MOVL 0(CX)(TLS*1), AX
	MOVL AX, ret+0(FP)
	RET
