//go:build linux

// Asynchronous suspension on linux/loong64: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_loong64.go.
//
// Registers:
//
//	R10	the record (*Record) through kernelEntry: a6, which no system call
//		takes; the kernel keeps it across SYSCALL (which may clobber
//		t0–t8), and the handler compares the frame's r10 (UC_R10) with
//		the record it found by thread id.
//	R4, R5, R6	signo, info and ucontext on the handler's entry; kept in
//		R23, R24, R25 for the chain to Go's handler.
//	R26	the record, in the handler; R27 the request taken.
//	RA	the kernel's return path (the vDSO's sigreturn).
//
// What must survive the handler's own system calls is in the callee-saved
// R23–R27, which the kernel restores from the frame on return. The
// handler never touches RA, TP, R21, R22 (Go's g), R29 (Go's closure
// context) or R30 (the assembler's temporary), makes no calls, and uses
// LL/SC with DBAR. The kernel has no sa_restorer on loong64
// (sigaction_norestorer_linux.go).

#include "textflag.h"
#include "record.h"

#define SYS_futex	98
#define SYS_gettid	178
// Offsets in the kernel's ucontext (TestEntryDefines): uc_mcontext's
// sc_pc at 176, then sc_regs[32], so r4 (a0) at 216 and r10 at 264; the
// handler copies sc_pc and sc_regs.
#define UC_PC	176
#define UC_A0	216
#define UC_R10	264
#define RAW_WORDS	33

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// The JAL makes the assembler save RA in a frame.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-88
	MOVV r+0(FP), R10
	MOVV a1+16(FP), R4
	MOVV a2+24(FP), R5
	MOVV a3+32(FP), R6
	MOVV a4+40(FP), R7
	MOVV a5+48(FP), R8
	MOVV a6+56(FP), R9
	MOVV trap+8(FP), R11
	JAL ·kernelEntry(SB)
	MOVW R0, REC_INWRAPPER(R10)
	MOVV $-4096, R12
	BGEU R12, R4, ok
	MOVV $-1, R12
	MOVV R12, r1+64(FP)
	MOVV R0, r2+72(FP)
	SUBVU R4, R0, R4
	MOVV R4, errno+80(FP)
	RET
ok:
	MOVV R4, r1+64(FP)
	MOVV R0, r2+72(FP)
	MOVV R0, errno+80(FP)
	RET

// kernelEntry: see entry_amd64.s. R10 (a6, which no system call takes)
// holds the record; the kernel keeps it across the SYSCALL, which may
// clobber t0–t8.
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVV $1, R12
	MOVW R12, REC_INWRAPPER(R10)
	MOVWU REC_INTERRUPT(R10), R12
	BNE R12, interrupted
	SYSCALL
	RET
interrupted:
	MOVV $-EINTR, R4
	RET

// STORE(val, off) stores val into the record's (R26) word at off with
// the barriers of Go's atomic.Store; leaves the address in R4. Clobbers
// R4, R5.
#define STORE(val, off) \
	MOVV $val, R5; \
	ADDV $off, R26, R4; \
	AMSWAPDBW R5, (R4), R0

// ACK stores val into the record's ack and wakes its waiter. Clobbers
// R4–R6, R11 and what the kernel may (t0–t8).
#define ACK(val) \
	STORE(val, REC_ACK); \
	MOVV $FUTEX_WAKE_PRIVATE, R5; \
	MOVV $0x40000000, R6; \
	MOVV $SYS_futex, R11; \
	SYSCALL

// TAKE(req, other) takes request req (a compare-and-swap to taken) or
// branches to other if the request is something else. Clobbers R4–R7.
#define TAKE(req, other) \
	ADDV $REC_REQUEST, R26, R4; \
	MOVV $req, R5; \
	DBAR $0x14; \
	MOVV $REQ_TAKEN, R6; \
	LL (R4), R7; \
	BNE R5, R7, other; \
	SC R6, (R4); \
	BEQ R6, -4(PC); \
	DBAR $0x12

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: R4 signo, R5 info,
// R6 ucontext, RA the kernel's return path (the vDSO's sigreturn), on the
// signal stack. A system call may clobber t0–t8, so what must survive
// one is kept in callee-saved registers, which the kernel restores from
// the frame on return: R4–R6 in R23–R25 for the chain, the record in
// R26, the request taken in R27. It never touches RA, TP, R21, R22 (Go's
// g), R29 (Go's closure context) or R30 (the assembler's temporary), and
// makes no calls.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOVV R4, R23
	MOVV R5, R24
	MOVV R6, R25

	// Find this thread's record.
	MOVV $SYS_gettid, R11
	SYSCALL                 // R4: tid
	MOVV $TABLE_MASK, R17
	AND R17, R4, R12        // index
	MOVV $·table(SB), R13
	MOVV $TABLE_SIZE, R14
probe:
	SLLV $SLOT_SHIFT, R12, R15
	ADDV R13, R15, R15      // the slot
	MOVWU 0(R15), R16
	BEQ R16, R4, found
	BEQ R16, chain
	ADDV $1, R12, R12
	AND R17, R12, R12
	SUBV $1, R14, R14
	BNE R14, probe
	JMP chain
found:
	MOVV 8(R15), R26        // the record
	BEQ R26, chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register). R4 still holds the tid,
	// equal to the slot's zero-extended word, so a zero-extended load
	// compares the 32-bit ids.
	MOVWU REC_TID(R26), R16
	BNE R16, R4, chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// SYSCALL, on behalf of this record (R10 carries it through the
	// entry), make the call return -EINTR.
	MOVWU REC_INTERRUPT(R26), R4
	BEQ R4, requests
	MOVV UC_R10(R25), R4
	BNE R4, R26, requests
	MOVV UC_PC(R25), R4
	MOVV ·entryStart(SB), R5
	BLTU R4, R5, requests
	MOVV ·sysInsn(SB), R5
	BLTU R5, R4, requests
	ADDV $4, R5, R5
	MOVV R5, UC_PC(R25)
	MOVV $-EINTR, R5
	MOVV R5, UC_A0(R25)

requests:
	TAKE(REQ_SUSPEND, sample)
	JMP suspend
sample:
	TAKE(REQ_SAMPLE, chain)
	MOVV $REQ_SAMPLE, R27   // the request taken
	JMP save

suspend:
	// Park only at the SYSCALL of kernelEntry (pc on it when the call
	// will restart, just after it when it returns) with the record
	// saying the thread is inside the entry, and the entry carrying this
	// record in R10: a stale record of a reused tid, or a record whose
	// owner is in the entry on another thread, never parks this one.
	MOVV $REQ_SUSPEND, R27
	MOVWU REC_INWRAPPER(R26), R4
	BEQ R4, decline
	MOVV UC_R10(R25), R4
	BNE R4, R26, decline
	MOVV UC_PC(R25), R4
	MOVV ·sysInsn(SB), R5
	BEQ R4, R5, save
	ADDV $4, R5, R5
	BEQ R4, R5, save
decline:
	STORE(REQ_NONE, REC_REQUEST)
	ACK(ACK_DECLINED)
	JMP chain

save:
	// Save the interrupted registers for a sample or a park, into the
	// buffer the initiator attached for the request just taken (TAKE's
	// closing DBAR orders this load after the take).
	MOVV REC_BUF(R26), R9
	MOVV $0, R5
copy:
	SLLV $3, R5, R6
	ADDV R25, R6, R7
	MOVV UC_PC(R7), R8
	ADDV R9, R6, R7
	MOVV R8, 0(R7)
	ADDV $1, R5, R5
	MOVV $RAW_WORDS, R6
	BLT R5, R6, copy
	STORE(REQ_NONE, REC_REQUEST)
	MOVV $REQ_SAMPLE, R4
	BNE R27, R4, park
	ACK(ACK_SAMPLED)
	JMP chain

park:
	ACK(ACK_PARKED)
wait:
	MOVWU REC_RELEASE(R26), R5
	DBAR $0x14
	BNE R5, released
	ADDV $REC_RELEASE, R26, R4
	MOVV $FUTEX_WAIT_PRIVATE, R5
	MOVV $0, R6
	MOVV $0, R7
	MOVV $SYS_futex, R11
	SYSCALL
	JMP wait
released:
	STORE(0, REC_RELEASE)
	ACK(ACK_RESUMED)

chain:
	MOVV R23, R4
	MOVV R24, R5
	MOVV R25, R6
	MOVV $·prevHandlers(SB), R12
	SLLV $3, R23, R13
	ADDV R13, R12, R12
	MOVV (R12), R12
	JMP (R12)

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-8
	MOVV $·sigHandler(SB), R4
	MOVV R4, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-8
	MOVV $·kernelEntry(SB), R4
	MOVV R4, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-9
	MOVV addr+0(FP), R4
	MOVBU (R4), R4
	MOVB R4, ret+8(FP)
	RET
