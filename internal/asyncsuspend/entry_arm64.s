//go:build linux

// Asynchronous suspension on linux/arm64: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_arm64.go.
//
// Registers:
//
//	R20	the record (*Record) through kernelEntry; the kernel keeps it
//		across the SVC, and the handler compares the frame's R20 (UC_R20)
//		with the record it found by thread id.
//	R0, R1, R2	signo, info and ucontext on the handler's entry; kept in
//		R9, R10, R11 for the chain to Go's handler.
//	R12	the record, in the handler; R7 the request taken.
//	LR	the kernel's return path: the handler makes no calls.
//
// The handler never touches LR, R18 (the platform register) or R19–R29.
// Requests are taken with LDAXR/STLXR, acknowledgements stored with STLR.

#include "textflag.h"
#include "record.h"

#define SYS_futex	98
#define SYS_gettid	178
// Offsets in the kernel's ucontext: uc_mcontext.regs[0] at 184 (regs[20]
// at 344), then sp, pc, pstate.
#define UC_REGS	184
#define UC_R20	344
#define UC_PC	440
#define RAW_WORDS	34

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// The BL makes the assembler save LR in a frame.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-88
	MOVD r+0(FP), R20
	MOVD a1+16(FP), R0
	MOVD a2+24(FP), R1
	MOVD a3+32(FP), R2
	MOVD a4+40(FP), R3
	MOVD a5+48(FP), R4
	MOVD a6+56(FP), R5
	MOVD trap+8(FP), R8
	BL ·kernelEntry(SB)
	MOVW ZR, REC_INWRAPPER(R20)
	CMN $4095, R0
	BCC ok
	MOVD $-1, R4
	MOVD R4, r1+64(FP)
	MOVD ZR, r2+72(FP)
	NEG R0, R0
	MOVD R0, errno+80(FP)
	RET
ok:
	MOVD R0, r1+64(FP)
	MOVD R1, r2+72(FP)
	MOVD ZR, errno+80(FP)
	RET

// kernelEntry: see entry_amd64.s. R20 holds the record; the kernel keeps
// it across the SVC.
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVW $1, R21
	MOVW R21, REC_INWRAPPER(R20)
	MOVWU REC_INTERRUPT(R20), R21
	CBNZW R21, interrupted
	SVC $0
	RET
interrupted:
	MOVD $-EINTR, R0
	RET

// ACK stores val into the record's (R12) ack with release order and
// wakes its waiter. Clobbers R0–R5, R8, R13, R14.
#define ACK(val) \
	MOVW $val, R14; \
	ADD $REC_ACK, R12, R13; \
	STLRW R14, (R13); \
	MOVD R13, R0; \
	MOVD $FUTEX_WAKE_PRIVATE, R1; \
	MOVD $0x40000000, R2; \
	MOVD ZR, R3; \
	MOVD ZR, R4; \
	MOVD ZR, R5; \
	MOVD $SYS_futex, R8; \
	SVC $0

// CLEAR_REQUEST sets the record's request back to none.
#define CLEAR_REQUEST \
	ADD $REC_REQUEST, R12, R13; \
	STLRW ZR, (R13)

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: R0 signo, R1 info,
// R2 ucontext, LR the kernel's return path, on the signal stack. It keeps
// R0–R2 for the chain in R9–R11 and never touches LR, R18 or R19–R29; it
// makes no calls.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOVD R0, R9
	MOVD R1, R10
	MOVD R2, R11

	// Find this thread's record.
	MOVD $SYS_gettid, R8
	SVC $0
	MOVWU R0, R13           // tid
	AND $TABLE_MASK, R13, R14
	MOVD $·table(SB), R15
	MOVD $TABLE_SIZE, R16
probe:
	ADD R14<<SLOT_SHIFT, R15, R17
	LDARW (R17), R0
	CMPW R0, R13
	BEQ found
	CBZW R0, chain
	ADD $1, R14, R14
	AND $TABLE_MASK, R14, R14
	SUBS $1, R16, R16
	BNE probe
	B chain
found:
	MOVD 8(R17), R12        // the record
	CBZ R12, chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register). Both tids are 32 bits
	// (R13 zero-extended): compare words.
	MOVWU REC_TID(R12), R1
	CMPW R1, R13
	BNE chain

	// An interrupt: if the thread is in kernelEntry at or before its SVC,
	// on behalf of this record (R20 carries it through the entry), make
	// the call return -EINTR.
	MOVWU REC_INTERRUPT(R12), R1
	CBZW R1, requests
	MOVD UC_R20(R11), R1
	CMP R12, R1
	BNE requests
	MOVD UC_PC(R11), R1
	MOVD ·entryStart(SB), R2
	CMP R2, R1
	BLO requests
	MOVD ·sysInsn(SB), R2
	CMP R2, R1
	BHI requests
	ADD $4, R2, R2
	MOVD R2, UC_PC(R11)
	MOVD $-EINTR, R1
	MOVD R1, UC_REGS(R11)

requests:
	ADD $REC_REQUEST, R12, R13
cas:
	LDAXRW (R13), R14
	CMPW $REQ_SUSPEND, R14
	BEQ take
	CMPW $REQ_SAMPLE, R14
	BEQ take
	CLREX
	B chain
take:
	MOVW $REQ_TAKEN, R15
	STLXRW R15, (R13), R16
	CBNZW R16, cas
	MOVW R14, R7            // the request: REQ_SUSPEND or REQ_SAMPLE
	CMPW $REQ_SAMPLE, R7
	BEQ save

	// A suspend: park only at the SVC of kernelEntry (pc on it when the
	// call will restart, just after it when it returns) with the record
	// saying the thread is inside the entry, and the entry carrying this
	// record in R20: a stale record of a reused tid, or a record whose
	// owner is in the entry on another thread, never parks this one.
	MOVWU REC_INWRAPPER(R12), R1
	CBZW R1, decline
	MOVD UC_R20(R11), R1
	CMP R12, R1
	BNE decline
	MOVD UC_PC(R11), R1
	MOVD ·sysInsn(SB), R2
	CMP R2, R1
	BEQ save
	ADD $4, R2, R2
	CMP R2, R1
	BEQ save
decline:
	CLEAR_REQUEST
	ACK(ACK_DECLINED)
	B chain

save:
	// Save the interrupted registers for a sample or a park, into the
	// buffer the initiator attached for the request just taken (the
	// acquire of the LDAXRW orders this load after the take).
	ADD $UC_REGS, R11, R13
	MOVD REC_BUF(R12), R14
	MOVD $RAW_WORDS, R15
copy:
	MOVD.P 8(R13), R16
	MOVD.P R16, 8(R14)
	SUBS $1, R15, R15
	BNE copy
	CLEAR_REQUEST
	CMPW $REQ_SAMPLE, R7
	BNE park
	ACK(ACK_SAMPLED)
	B chain

park:
	ACK(ACK_PARKED)
wait:
	ADD $REC_RELEASE, R12, R13
	LDARW (R13), R14
	CBNZW R14, released
	MOVD R13, R0
	MOVD $FUTEX_WAIT_PRIVATE, R1
	MOVD ZR, R2
	MOVD ZR, R3
	MOVD ZR, R4
	MOVD ZR, R5
	MOVD $SYS_futex, R8
	SVC $0
	B wait
released:
	STLRW ZR, (R13)
	ACK(ACK_RESUMED)

chain:
	MOVD R9, R0
	MOVD R10, R1
	MOVD R11, R2
	MOVD $·prevHandlers(SB), R16
	MOVD (R16)(R9<<3), R16  // R9: the signal number
	JMP (R16)

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-8
	MOVD $·sigHandler(SB), R0
	MOVD R0, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-8
	MOVD $·kernelEntry(SB), R0
	MOVD R0, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-9
	MOVD addr+0(FP), R0
	MOVBU (R0), R0
	MOVB R0, ret+8(FP)
	RET
