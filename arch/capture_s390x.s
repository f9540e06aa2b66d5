//go:build linux

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_s390x.go (TestContextLayout): PC 0,
// SP 8, FP 16, LR 24, R[i] at 32+8i, PSWMask 160 (left 0: a program
// cannot read its PSW). A leaf without a frame: R14 is the caller's pc
// and R15 the caller's sp. R1 holds c.
TEXT ·Capture(SB), NOSPLIT|NOFRAME, $0-8
	MOVD c+0(FP), R1
	MOVD R0, 32(R1)
	MOVD R1, 40(R1)
	MOVD R2, 48(R1)
	MOVD R3, 56(R1)
	MOVD R4, 64(R1)
	MOVD R5, 72(R1)
	MOVD R6, 80(R1)
	MOVD R7, 88(R1)
	MOVD R8, 96(R1)
	MOVD R9, 104(R1)
	MOVD R10, 112(R1)
	MOVD R11, 120(R1)
	MOVD R12, 128(R1)
	MOVD g, 136(R1)
	MOVD R14, 144(R1)
	MOVD R15, 152(R1)
	MOVD R14, 0(R1)
	MOVD R15, 8(R1)
	MOVD $0, 16(R1)
	MOVD R14, 24(R1)
	MOVD $0, 160(R1)
	RET
