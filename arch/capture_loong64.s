//go:build linux

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_loong64.go (TestContextLayout): PC 0,
// SP 8, FP 16, LR 24, R[i] at 32+8i. A leaf without a frame: RA is the
// caller's pc and SP the caller's sp. R19 holds c.
TEXT ·Capture(SB), NOSPLIT|NOFRAME, $0-8
	MOVV c+0(FP), R19
	MOVV R1, 40(R19)
	MOVV R2, 48(R19)
	MOVV R3, 56(R19)
	MOVV R4, 64(R19)
	MOVV R5, 72(R19)
	MOVV R6, 80(R19)
	MOVV R7, 88(R19)
	MOVV R8, 96(R19)
	MOVV R9, 104(R19)
	MOVV R10, 112(R19)
	MOVV R11, 120(R19)
	MOVV R12, 128(R19)
	MOVV R13, 136(R19)
	MOVV R14, 144(R19)
	MOVV R15, 152(R19)
	MOVV R16, 160(R19)
	MOVV R17, 168(R19)
	MOVV R18, 176(R19)
	MOVV R19, 184(R19)
	MOVV R20, 192(R19)
	MOVV R21, 200(R19)
	MOVV g, 208(R19)
	MOVV R23, 216(R19)
	MOVV R24, 224(R19)
	MOVV R25, 232(R19)
	MOVV R26, 240(R19)
	MOVV R27, 248(R19)
	MOVV R28, 256(R19)
	MOVV R29, 264(R19)
	MOVV R30, 272(R19)
	MOVV R31, 280(R19)
	MOVV R1, 0(R19)
	MOVV R3, 8(R19)
	MOVV g, 16(R19)
	MOVV R1, 24(R19)
	RET
