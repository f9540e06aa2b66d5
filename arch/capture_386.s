//go:build linux

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_386.go (TestContextLayout). AX and CX
// are used as scratch and hold the captured address and pc.
TEXT ·Capture(SB), NOSPLIT, $0-4
	MOVL c+0(FP), AX
	MOVL BX, 20(AX)
	MOVL DX, 28(AX)
	MOVL SI, 32(AX)
	MOVL DI, 36(AX)
	MOVL AX, 16(AX)
	MOVL 0(SP), CX          // return address: the caller's pc
	MOVL CX, 0(AX)
	MOVL CX, 24(AX)
	LEAL c+0(FP), CX        // the caller's sp once Capture returns (4(SP))
	MOVL CX, 4(AX)
	MOVL BP, 8(AX)
	MOVL $0, 12(AX)
	PUSHFL
	POPL CX
	MOVL CX, 40(AX)
	RET
