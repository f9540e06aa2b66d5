//go:build linux

// Asynchronous suspension on linux/riscv64: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_riscv64.go.
//
// Registers:
//
//	T3	the record (*Record) through kernelEntry; the kernel preserves every
//		register but a0 across ECALL, and the handler compares the frame's
//		t3 (UC_T3) with the record it found by thread id. In the handler,
//		T3 holds that record.
//	A0, A1, A2	signo, info and ucontext on the handler's entry; kept in
//		T0, T1, T2 for the chain to Go's handler.
//	T4	the request taken; A0–A7 and T5 are scratch.
//	RA	the kernel's return path (the vDSO's sigreturn).
//
// The handler uses only caller-saved registers and makes no calls: it
// never touches RA, GP, TP, the callee-saved X8, X9, X18–X27 (X27 is Go's
// g) or T6 (the assembler's temporary). The kernel has no sa_restorer on
// riscv64 (sigaction_norestorer_linux.go).

#include "textflag.h"
#include "record.h"

#define SYS_futex	98
#define SYS_gettid	178
// Offsets in the kernel's ucontext (TestEntryDefines): uc_mcontext's
// user_regs_struct at 176, pc its word 0, a0 its word 10, t3 (x28) its
// word 28; the handler copies its 32 words.
#define UC_REGS	176
#define UC_PC	176
#define UC_A0	256
#define UC_T3	400
#define RAW_WORDS	32

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// The CALL makes the assembler save RA in a frame.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-88
	MOV r+0(FP), T3
	MOV a1+16(FP), A0
	MOV a2+24(FP), A1
	MOV a3+32(FP), A2
	MOV a4+40(FP), A3
	MOV a5+48(FP), A4
	MOV a6+56(FP), A5
	MOV trap+8(FP), A7
	CALL ·kernelEntry(SB)
	MOVW ZERO, REC_INWRAPPER(T3)
	MOV $-4096, T5
	BLTU T5, A0, err
	MOV A0, r1+64(FP)
	MOV A1, r2+72(FP)
	MOV ZERO, errno+80(FP)
	RET
err:
	MOV $-1, T5
	MOV T5, r1+64(FP)
	MOV ZERO, r2+72(FP)
	SUB A0, ZERO, A0
	MOV A0, errno+80(FP)
	RET

// kernelEntry: see entry_amd64.s. T3 holds the record; the kernel keeps
// every register but a0 across the ECALL.
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOV $1, T5
	MOVW T5, REC_INWRAPPER(T3)
	MOVWU REC_INTERRUPT(T3), T5
	BNE T5, ZERO, interrupted
	ECALL
	RET
interrupted:
	MOV $-EINTR, A0
	RET

// ACK stores val into the record's (T3) ack, ordered after what the
// handler wrote before it (an AMO with aq and rl, as Go's assembler
// encodes them), and wakes its waiter. Clobbers A0–A2, A7, T5.
#define ACK(val) \
	MOV $val, T5; \
	ADD $REC_ACK, T3, A0; \
	AMOSWAPW T5, (A0), ZERO; \
	MOV $FUTEX_WAKE_PRIVATE, A1; \
	MOV $0x40000000, A2; \
	MOV $SYS_futex, A7; \
	ECALL

// CLEAR_REQUEST sets the record's request back to none. Clobbers A0.
#define CLEAR_REQUEST \
	ADD $REC_REQUEST, T3, A0; \
	AMOSWAPW ZERO, (A0), ZERO

// TAKE(req, other) takes request req (a compare-and-swap to taken) or
// jumps to other if the request is something else. Clobbers A0–A3.
#define TAKE(req, other) \
	ADD $REC_REQUEST, T3, A0; \
	MOV $req, A1; \
	MOV $REQ_TAKEN, A2; \
	LRW (A0), A3; \
	BNE A3, A1, other; \
	SCW A2, (A0), A3; \
	BNE A3, ZERO, -3(PC)

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: A0 signo, A1 info,
// A2 ucontext, RA the kernel's return path (the vDSO's sigreturn), on the
// signal stack. It keeps A0–A2 for the chain in T0–T2, the record in T3
// and the request taken in T4; it uses A0–A7 and T5 as scratch, never
// touches RA, the callee-saved registers (X8, X9, X18–X27; X27 is Go's
// g), GP, TP or T6 (the assembler's temporary), and makes no calls.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOV A0, T0
	MOV A1, T1
	MOV A2, T2

	// Find this thread's record.
	MOV $SYS_gettid, A7
	ECALL                   // A0: tid
	MOV $TABLE_MASK, A6
	AND A6, A0, A1          // index
	MOV $·table(SB), A2
	MOV $TABLE_SIZE, A3
probe:
	SLL $SLOT_SHIFT, A1, A4
	ADD A2, A4, A4          // the slot
	MOVWU 0(A4), A5
	BEQ A5, A0, found
	BEQ A5, ZERO, chain
	ADD $1, A1, A1
	AND A6, A1, A1
	SUB $1, A3, A3
	BNE A3, ZERO, probe
	JMP chain
found:
	MOV 8(A4), T3           // the record
	BEQ T3, ZERO, chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register). A0 still holds the tid,
	// equal to the slot's zero-extended word, so a zero-extended load
	// compares the 32-bit ids.
	MOVWU REC_TID(T3), A5
	BNE A5, A0, chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// ECALL, on behalf of this record (T3 carries it through the entry),
	// make the call return -EINTR.
	MOVWU REC_INTERRUPT(T3), A0
	BEQ A0, ZERO, requests
	MOV UC_T3(T2), A0
	BNE A0, T3, requests
	MOV UC_PC(T2), A0
	MOV ·entryStart(SB), A1
	BLTU A0, A1, requests
	MOV ·sysInsn(SB), A1
	BLTU A1, A0, requests
	ADD $4, A1, A1
	MOV A1, UC_PC(T2)
	MOV $-EINTR, A1
	MOV A1, UC_A0(T2)

requests:
	TAKE(REQ_SUSPEND, sample)
	JMP suspend
sample:
	TAKE(REQ_SAMPLE, chain)
	MOV $REQ_SAMPLE, T4     // the request taken
	JMP save

suspend:
	// Park only at the ECALL of kernelEntry (pc on it when the call will
	// restart, just after it when it returns) with the record saying the
	// thread is inside the entry, and the entry carrying this record in
	// T3: a stale record of a reused tid, or a record whose owner is in
	// the entry on another thread, never parks this one.
	MOV $REQ_SUSPEND, T4
	MOVWU REC_INWRAPPER(T3), A0
	BEQ A0, ZERO, decline
	MOV UC_T3(T2), A0
	BNE A0, T3, decline
	MOV UC_PC(T2), A0
	MOV ·sysInsn(SB), A1
	BEQ A0, A1, save
	ADD $4, A1, A1
	BEQ A0, A1, save
decline:
	CLEAR_REQUEST
	ACK(ACK_DECLINED)
	JMP chain

save:
	// Save the interrupted registers for a sample or a park, into the
	// buffer the initiator attached for the request just taken (the
	// LR's acquire orders this load after the take).
	MOV REC_BUF(T3), A5
	MOV $0, A1
copy:
	SLL $3, A1, A2
	ADD T2, A2, A3
	MOV UC_REGS(A3), A4
	ADD A5, A2, A3
	MOV A4, 0(A3)
	ADD $1, A1, A1
	MOV $RAW_WORDS, A2
	BLT A1, A2, copy
	CLEAR_REQUEST
	MOV $REQ_SAMPLE, A0
	BNE T4, A0, park
	ACK(ACK_SAMPLED)
	JMP chain

park:
	ACK(ACK_PARKED)
wait:
	// The release the initiator stored, read with an AMO (a plain load
	// could be ordered before the futex wait's view of it).
	ADD $REC_RELEASE, T3, A0
	AMOADDW ZERO, (A0), A1
	BNE A1, ZERO, released
	MOV $FUTEX_WAIT_PRIVATE, A1
	MOV $0, A2
	MOV $0, A3
	MOV $0, A4
	MOV $0, A5
	MOV $SYS_futex, A7
	ECALL
	JMP wait
released:
	ADD $REC_RELEASE, T3, A0
	AMOSWAPW ZERO, (A0), ZERO
	ACK(ACK_RESUMED)

chain:
	MOV T0, A0
	MOV T1, A1
	MOV T2, A2
	MOV $·prevHandlers(SB), A3
	SLL $3, T0, A4
	ADD A3, A4, A3
	MOV (A3), A3
	JMP (A3)

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-8
	MOV $·sigHandler(SB), A0
	MOV A0, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-8
	MOV $·kernelEntry(SB), A0
	MOV A0, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-9
	MOV addr+0(FP), A0
	MOVBU (A0), A0
	MOVB A0, ret+8(FP)
	RET
