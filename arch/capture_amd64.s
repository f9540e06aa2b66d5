//go:build linux

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_amd64.go (TestContextLayout).
// AX and CX are used as scratch and hold the captured address and pc.
TEXT ·Capture(SB), NOSPLIT, $0-8
	MOVQ c+0(FP), AX
	MOVQ BX, 40(AX)
	MOVQ DX, 56(AX)
	MOVQ SI, 64(AX)
	MOVQ DI, 72(AX)
	MOVQ R8, 80(AX)
	MOVQ R9, 88(AX)
	MOVQ R10, 96(AX)
	MOVQ R11, 104(AX)
	MOVQ R12, 112(AX)
	MOVQ R13, 120(AX)
	MOVQ R14, 128(AX)
	MOVQ R15, 136(AX)
	MOVQ AX, 32(AX)
	MOVQ 0(SP), CX          // return address: the caller's pc
	MOVQ CX, 0(AX)
	MOVQ CX, 48(AX)
	LEAQ c+0(FP), CX        // the caller's sp once Capture returns (8(SP))
	MOVQ CX, 8(AX)
	MOVQ BP, 16(AX)
	MOVQ $0, 24(AX)
	PUSHFQ
	POPQ CX
	MOVQ CX, 144(AX)
	RET
