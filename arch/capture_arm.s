//go:build linux && arm.7

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_arm.go (TestContextLayout): PC 0, SP 4,
// FP 8, LR 12, R0–R12 from 16, CPSR 68. A leaf without a frame: LR is the
// caller's pc and SP the caller's sp. R12 holds c, R0 the flags.
TEXT ·Capture(SB), NOSPLIT|NOFRAME, $0-4
	MOVW c+0(FP), R12
	MOVW R0, 16(R12)
	MOVW R1, 20(R12)
	MOVW R2, 24(R12)
	MOVW R3, 28(R12)
	MOVW R4, 32(R12)
	MOVW R5, 36(R12)
	MOVW R6, 40(R12)
	MOVW R7, 44(R12)
	MOVW R8, 48(R12)
	MOVW R9, 52(R12)
	MOVW g, 56(R12)
	MOVW R11, 60(R12)
	MOVW R12, 64(R12)
	MOVW R14, 0(R12)
	MOVW R13, 4(R12)
	MOVW R11, 8(R12)
	MOVW R14, 12(R12)
	MOVW CPSR, R0
	MOVW R0, 68(R12)
	RET
