//go:build linux

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_arm64.go (TestContextLayout): PC 0,
// SP 8, FP 16, LR 24, R0–R28 from 32, PState 264. R16 and R17 are used as
// scratch and hold the captured address and the flags.
TEXT ·Capture(SB), NOSPLIT|NOFRAME, $0-8
	MOVD c+0(FP), R16
	STP (R0, R1), 32(R16)
	STP (R2, R3), 48(R16)
	STP (R4, R5), 64(R16)
	STP (R6, R7), 80(R16)
	STP (R8, R9), 96(R16)
	STP (R10, R11), 112(R16)
	STP (R12, R13), 128(R16)
	STP (R14, R15), 144(R16)
	STP (R16, R17), 160(R16)
	MOVD R19, 184(R16)     // R18 is the platform register: not captured
	STP (R20, R21), 192(R16)
	STP (R22, R23), 208(R16)
	STP (R24, R25), 224(R16)
	STP (R26, R27), 240(R16)
	MOVD g, 256(R16)
	MOVD LR, 0(R16)         // the caller's pc: where Capture returns
	MOVD LR, 24(R16)
	MOVD RSP, R17
	MOVD R17, 8(R16)
	MOVD R29, 16(R16)
	MRS NZCV, R17
	MOVD R17, 264(R16)
	RET
