//go:build linux && arm.7

// Asynchronous suspension on linux/arm: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_arm.go.
//
// Built for GOARM=7 only (the arm.7 tag): the handler needs LDREX/STREX
// and DMB, which ARMv7 has; with GOARM 5 or 6 the platform is coop-only.
//
// Registers:
//
//	R8	the record (*Record) through kernelEntry; the kernel keeps every
//		register but R0 across the SWI, and the handler compares the
//		frame's r8 (UC_R8) with the record it found by thread id. In the
//		handler, R8 holds that record.
//	R0, R1, R2	signo, info and ucontext on the handler's entry: pushed on
//		the signal stack and popped for the chain to Go's handler, so SP
//		is as it was; the ucontext is kept in R6.
//	R9	the request taken.
//	LR	the kernel's return path: the handler makes no calls.
//
// The handler never touches LR, R10 (Go's g) or R11 (the assembler's
// temporary: constants and addresses are loaded so that it needs none).

#include "textflag.h"
#include "record.h"

#define SYS_gettid	224
#define SYS_futex	240
// Offsets in the kernel's ucontext (TestEntryDefines): uc_mcontext at 20,
// a struct sigcontext whose r0 is word 3, r8 word 11 and pc word 18; the
// handler copies r0 … cpsr.
#define UC_MCONTEXT	20
#define UC_R0	32
#define UC_R8	64
#define UC_PC	92
#define RAW_WORDS	17

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// The BL makes the assembler save LR in a frame.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-44
	MOVW r+0(FP), R8
	MOVW a1+8(FP), R0
	MOVW a2+12(FP), R1
	MOVW a3+16(FP), R2
	MOVW a4+20(FP), R3
	MOVW a5+24(FP), R4
	MOVW a6+28(FP), R5
	MOVW trap+4(FP), R7
	BL ·kernelEntry(SB)
	MOVW $0, R2
	MOVW R2, REC_INWRAPPER(R8)
	MOVW $0xfffff001, R2
	CMP R2, R0
	BLS ok
	MOVW $-1, R1
	MOVW R1, r1+32(FP)
	MOVW $0, R1
	MOVW R1, r2+36(FP)
	RSB $0, R0, R0
	MOVW R0, errno+40(FP)
	RET
ok:
	MOVW R0, r1+32(FP)
	MOVW R1, r2+36(FP)
	MOVW $0, R0
	MOVW R0, errno+40(FP)
	RET

// kernelEntry: see entry_amd64.s. R8 holds the record; the kernel keeps
// every register but R0 across the SWI.
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVW $1, R6
	MOVW R6, REC_INWRAPPER(R8)
	MOVW REC_INTERRUPT(R8), R6
	CMP $0, R6
	BNE interrupted
	SWI $0
	RET
interrupted:
	MOVW $-EINTR, R0
	RET

// STORE(val, off) stores val into the record's (R8) word at off, ordered
// after what the handler wrote before it and before what follows, as Go's
// atomic.Store does. Clobbers R0, R1.
#define STORE(val, off) \
	MOVW $val, R1; \
	ADD $off, R8, R0; \
	DMB MB_ISH; \
	MOVW R1, (R0); \
	DMB MB_ISH

// ACK stores val into the record's (R8) ack and wakes its waiter.
// Clobbers R0–R3, R7.
#define ACK(val) \
	STORE(val, REC_ACK); \
	MOVW $FUTEX_WAKE_PRIVATE, R1; \
	MOVW $0x40000000, R2; \
	MOVW $0, R3; \
	MOVW $SYS_futex, R7; \
	SWI $0

// TAKE(req, other) takes request req (a compare-and-swap to taken) or
// branches to other if the request is something else. Clobbers R0–R3.
#define TAKE(req, other) \
	ADD $REC_REQUEST, R8, R0; \
	MOVW $req, R1; \
	MOVW $REQ_TAKEN, R2; \
	LDREX (R0), R3; \
	CMP R1, R3; \
	BNE other; \
	DMB MB_ISHST; \
	STREX R2, (R0), R3; \
	CMP $0, R3; \
	BNE -6(PC); \
	DMB MB_ISH

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: R0 signo, R1 info,
// R2 ucontext, LR the kernel's return path, on the signal stack. It pushes
// R0–R2 and pops them for the chain, so SP is as it was; it keeps the
// ucontext in R6, the record in R8 and the request taken in R9, never
// touches LR, R10 (Go's g) or R11 (the assembler's temporary: constants
// and addresses are loaded so that it needs none), and makes no calls.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOVM.DB.W [R0-R2], (R13)
	MOVW R2, R6

	// Find this thread's record.
	MOVW $SYS_gettid, R7
	SWI $0                  // R0: tid
	MOVW $TABLE_MASK, R4
	AND R0, R4, R1          // index
	MOVW $·table(SB), R2
	MOVW $TABLE_SIZE, R3
probe:
	ADD R1<<SLOT_SHIFT, R2, R5 // the slot
	MOVW 0(R5), R7
	CMP R0, R7
	BEQ found
	CMP $0, R7
	BEQ chain
	ADD $1, R1, R1
	AND R4, R1, R1
	SUB.S $1, R3, R3
	BNE probe
	B chain
found:
	MOVW 12(R5), R8         // the record: the slot's last word
	CMP $0, R8
	BEQ chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register). R0 still holds the tid.
	MOVW REC_TID(R8), R1
	CMP R0, R1
	BNE chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// SWI, on behalf of this record (R8 carries it through the entry),
	// make the call return -EINTR.
	MOVW REC_INTERRUPT(R8), R0
	CMP $0, R0
	BEQ requests
	MOVW UC_R8(R6), R0
	CMP R8, R0
	BNE requests
	MOVW UC_PC(R6), R0
	MOVW $·entryStart(SB), R1
	MOVW (R1), R1
	CMP R1, R0
	BLO requests
	MOVW $·sysInsn(SB), R1
	MOVW (R1), R1
	CMP R1, R0
	BHI requests
	ADD $4, R1, R1
	MOVW R1, UC_PC(R6)
	MOVW $-EINTR, R1
	MOVW R1, UC_R0(R6)

requests:
	TAKE(REQ_SUSPEND, sample)
	B suspend
sample:
	TAKE(REQ_SAMPLE, chain)
	MOVW $REQ_SAMPLE, R9    // the request taken
	B save

suspend:
	// Park only at the SWI of kernelEntry (pc on it when the call will
	// restart, just after it when it returns) with the record saying the
	// thread is inside the entry, and the entry carrying this record in
	// R8: a stale record of a reused tid, or a record whose owner is in
	// the entry on another thread, never parks this one.
	MOVW $REQ_SUSPEND, R9
	MOVW REC_INWRAPPER(R8), R0
	CMP $0, R0
	BEQ decline
	MOVW UC_R8(R6), R0
	CMP R8, R0
	BNE decline
	MOVW UC_PC(R6), R0
	MOVW $·sysInsn(SB), R1
	MOVW (R1), R1
	CMP R1, R0
	BEQ save
	ADD $4, R1, R1
	CMP R1, R0
	BEQ save
decline:
	STORE(REQ_NONE, REC_REQUEST)
	ACK(ACK_DECLINED)
	B chain

save:
	// Save the interrupted registers for a sample or a park, into the
	// buffer the initiator attached for the request just taken (TAKE's
	// DMB orders this load after the take).
	ADD $UC_R0, R6, R0
	MOVW REC_BUF(R8), R1
	MOVW $RAW_WORDS, R2
copy:
	MOVW.P 4(R0), R3
	MOVW.P R3, 4(R1)
	SUB.S $1, R2, R2
	BNE copy
	STORE(REQ_NONE, REC_REQUEST)
	CMP $REQ_SAMPLE, R9
	BNE park
	ACK(ACK_SAMPLED)
	B chain

park:
	ACK(ACK_PARKED)
wait:
	MOVW REC_RELEASE(R8), R1
	DMB MB_ISH
	CMP $0, R1
	BNE released
	ADD $REC_RELEASE, R8, R0
	MOVW $FUTEX_WAIT_PRIVATE, R1
	MOVW $0, R2
	MOVW $0, R3
	MOVW $SYS_futex, R7
	SWI $0
	B wait
released:
	STORE(0, REC_RELEASE)
	ACK(ACK_RESUMED)

chain:
	MOVM.IA.W (R13), [R0-R2]
	MOVW $·prevHandlers(SB), R3
	ADD R0<<2, R3, R3
	MOVW (R3), R3
	B (R3)

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-4
	MOVW $·sigHandler(SB), R0
	MOVW R0, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-4
	MOVW $·kernelEntry(SB), R0
	MOVW R0, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-5
	MOVW addr+0(FP), R0
	MOVBU (R0), R0
	MOVB R0, ret+4(FP)
	RET
