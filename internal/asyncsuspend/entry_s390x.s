//go:build linux

// Asynchronous suspension on linux/s390x: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_s390x.go.
//
// Registers:
//
//	R9	the record (*Record) through kernelEntry and in the handler; the
//		kernel keeps every register but R2 across SVC 0, and the handler
//		compares the frame's r9 (UC_R9) with the record it found by
//		thread id.
//	R2, R3, R4	signo, info and ucontext on the handler's entry; kept in
//		R6, R7, R8 for the chain to Go's handler.
//	R5	the request taken.
//	R14	the kernel's return path: the handler makes no calls.
//
// The handler clears R0 as Go's own handler does and never touches R10
// and R11 (the assembler's temporaries), R12 (Go's closure context), R13
// (Go's g), R14 or R15. CS takes a request in one instruction.

#include "textflag.h"
#include "record.h"

#define SYS_futex	238
#define SYS_gettid	236
// Offsets in the kernel's ucontext (TestEntryDefines): uc_mcontext at 40,
// psw_mask then psw_addr (the pc), then gregs[16] (r2 at 72, r9 at 128);
// the handler copies those 18 words.
#define UC_MCONTEXT	40
#define UC_PSWADDR	48
#define UC_R2	72
#define UC_R9	128
#define RAW_WORDS	18

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// The BL makes the assembler save LR in a frame.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-88
	MOVD r+0(FP), R9
	MOVD a1+16(FP), R2
	MOVD a2+24(FP), R3
	MOVD a3+32(FP), R4
	MOVD a4+40(FP), R5
	MOVD a5+48(FP), R6
	MOVD a6+56(FP), R7
	MOVD trap+8(FP), R1
	BL ·kernelEntry(SB)
	MOVD $0, R8
	MOVW R8, REC_INWRAPPER(R9)
	MOVD $0xfffffffffffff001, R8
	CMPUBLT R2, R8, ok
	MOVD $-1, R8
	MOVD R8, r1+64(FP)
	MOVD $0, r2+72(FP)
	NEG R2, R2
	MOVD R2, errno+80(FP)
	RET
ok:
	MOVD R2, r1+64(FP)
	MOVD R3, r2+72(FP)
	MOVD $0, errno+80(FP)
	RET

// kernelEntry: see entry_amd64.s. R9 holds the record; the kernel keeps
// every register but R2 across the SVC 0 (SYSCALL, the number in R1).
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVD $1, R8
	MOVW R8, REC_INWRAPPER(R9)
	MOVWZ REC_INTERRUPT(R9), R8
	CMPBNE R8, $0, interrupted
	SYSCALL
	RET
interrupted:
	MOVD $-EINTR, R2
	RET

// STORE(val, off) stores val into the record's (R9) word at off followed
// by a serialisation, as Go's atomic.Store does. Clobbers R2.
#define STORE(val, off) \
	MOVD $val, R2; \
	MOVW R2, off(R9); \
	SYNC

// ACK stores val into the record's ack and wakes its waiter. Clobbers
// R1–R4.
#define ACK(val) \
	STORE(val, REC_ACK); \
	MOVD $REC_ACK(R9), R2; \
	MOVD $FUTEX_WAKE_PRIVATE, R3; \
	MOVD $0x40000000, R4; \
	MOVD $SYS_futex, R1; \
	SYSCALL

// TAKE(req, other) takes request req with one compare-and-swap (CS) to
// taken, or branches to other if the request is something else. Clobbers
// R2, R3.
#define TAKE(req, other) \
	MOVD $req, R2; \
	MOVD $REQ_TAKEN, R3; \
	CS R2, R3, REC_REQUEST(R9); \
	BNE other

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: R2 signo, R3 info,
// R4 ucontext, R14 the kernel's return path, on the signal stack. It keeps
// R2–R4 for the chain in R6–R8, the record in R9 and the request taken in
// R5 (the kernel keeps every register but R2 across a system call); it
// clears R0 as Go's own handler does, never touches R10 and R11 (the
// assembler's temporaries), R12 (Go's closure context), R13 (Go's g),
// R14 or R15, and makes no calls.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	XOR R0, R0
	MOVD R2, R6
	MOVD R3, R7
	MOVD R4, R8

	// Find this thread's record.
	MOVD $SYS_gettid, R1
	SYSCALL                 // R2: tid
	MOVD $·table(SB), R3
	MOVD R2, R4
	AND $TABLE_MASK, R4     // index
	MOVD $TABLE_SIZE, R5
probe:
	SLD $SLOT_SHIFT, R4, R1
	ADD R3, R1              // the slot
	MOVWZ 0(R1), R9
	CMPBEQ R9, R2, found
	CMPBEQ R9, $0, chain
	ADD $1, R4
	AND $TABLE_MASK, R4
	SUB $1, R5
	CMPBNE R5, $0, probe
	BR chain
found:
	MOVD 8(R1), R9          // the record
	CMPBEQ R9, $0, chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register). A word compare: only
	// the low 32 bits of the tid in R2 count.
	MOVWZ REC_TID(R9), R1
	CMPW R1, R2
	BNE chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// SVC, on behalf of this record (R9 carries it through the entry),
	// make the call return -EINTR.
	MOVWZ REC_INTERRUPT(R9), R1
	CMPBEQ R1, $0, requests
	MOVD UC_R9(R8), R1
	CMPBNE R1, R9, requests
	MOVD UC_PSWADDR(R8), R1
	MOVD ·entryStart(SB), R2
	CMPUBLT R1, R2, requests
	MOVD ·sysInsn(SB), R2
	CMPUBGT R1, R2, requests
	ADD $2, R2
	MOVD R2, UC_PSWADDR(R8)
	MOVD $-EINTR, R2
	MOVD R2, UC_R2(R8)

requests:
	TAKE(REQ_SUSPEND, sample)
	BR suspend
sample:
	TAKE(REQ_SAMPLE, chain)
	MOVD $REQ_SAMPLE, R5    // the request taken
	BR save

suspend:
	// Park only at the SVC of kernelEntry (pc on it when the call will
	// restart, just after it when it returns) with the record saying the
	// thread is inside the entry, and the entry carrying this record in
	// R9: a stale record of a reused tid, or a record whose owner is in
	// the entry on another thread, never parks this one.
	MOVD $REQ_SUSPEND, R5
	MOVWZ REC_INWRAPPER(R9), R1
	CMPBEQ R1, $0, decline
	MOVD UC_R9(R8), R1
	CMPBNE R1, R9, decline
	MOVD UC_PSWADDR(R8), R1
	MOVD ·sysInsn(SB), R2
	CMPBEQ R1, R2, save
	ADD $2, R2
	CMPBEQ R1, R2, save
decline:
	STORE(REQ_NONE, REC_REQUEST)
	ACK(ACK_DECLINED)
	BR chain

save:
	// Save the interrupted registers for a sample or a park, into the
	// buffer the initiator attached for the request just taken (CS
	// serialises, so this load comes after the take).
	MOVD $UC_MCONTEXT(R8), R3
	MOVD REC_BUF(R9), R4
	MOVD $RAW_WORDS, R2
copy:
	MOVD 0(R3), R1
	MOVD R1, 0(R4)
	ADD $8, R3
	ADD $8, R4
	SUB $1, R2
	CMPBNE R2, $0, copy
	STORE(REQ_NONE, REC_REQUEST)
	CMPBNE R5, $REQ_SAMPLE, park
	ACK(ACK_SAMPLED)
	BR chain

park:
	ACK(ACK_PARKED)
wait:
	MOVWZ REC_RELEASE(R9), R2
	CMPBNE R2, $0, released
	MOVD $REC_RELEASE(R9), R2
	MOVD $FUTEX_WAIT_PRIVATE, R3
	MOVD $0, R4
	MOVD $0, R5
	MOVD $SYS_futex, R1
	SYSCALL
	BR wait
released:
	STORE(0, REC_RELEASE)
	ACK(ACK_RESUMED)

chain:
	MOVD $·prevHandlers(SB), R1
	SLD $3, R6, R2
	ADD R2, R1
	MOVD 0(R1), R1
	MOVD R6, R2
	MOVD R7, R3
	MOVD R8, R4
	BR (R1)

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-8
	MOVD $·sigHandler(SB), R2
	MOVD R2, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-8
	MOVD $·kernelEntry(SB), R2
	MOVD R2, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-9
	MOVD addr+0(FP), R2
	MOVBZ (R2), R2
	MOVB R2, ret+8(FP)
	RET
