//go:build linux

#include "textflag.h"

// func Capture(c *Context)
// Offsets follow Context in context_riscv64.go (TestContextLayout): PC at
// 0, SP 8, FP 16, LR 24, X[i] at 32+8i. A leaf without a frame: RA is the
// caller's pc and SP the caller's sp. T0 holds c.
TEXT ·Capture(SB), NOSPLIT|NOFRAME, $0-8
	MOV c+0(FP), T0
	MOV X1, 40(T0)
	MOV X2, 48(T0)
	MOV X3, 56(T0)
	MOV TP, 64(T0)
	MOV X5, 72(T0)
	MOV X6, 80(T0)
	MOV X7, 88(T0)
	MOV X8, 96(T0)
	MOV X9, 104(T0)
	MOV X10, 112(T0)
	MOV X11, 120(T0)
	MOV X12, 128(T0)
	MOV X13, 136(T0)
	MOV X14, 144(T0)
	MOV X15, 152(T0)
	MOV X16, 160(T0)
	MOV X17, 168(T0)
	MOV X18, 176(T0)
	MOV X19, 184(T0)
	MOV X20, 192(T0)
	MOV X21, 200(T0)
	MOV X22, 208(T0)
	MOV X23, 216(T0)
	MOV X24, 224(T0)
	MOV X25, 232(T0)
	MOV X26, 240(T0)
	MOV g, 248(T0)
	MOV X28, 256(T0)
	MOV X29, 264(T0)
	MOV X30, 272(T0)
	MOV X31, 280(T0)
	MOV X1, 0(T0)
	MOV X2, 8(T0)
	MOV X8, 16(T0)
	MOV X1, 24(T0)
	RET
