//go:build linux

// Asynchronous suspension on linux/ppc64le: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_ppc64le.go.
//
// Registers:
//
//	R14	the record (*Record) through kernelEntry: the kernel keeps the
//		non-volatile R14–R31 across sc, and may clobber R0 and R3–R12
//		(R3 carries the result). The handler compares the frame's gpr14
//		(UC_GPR14) with the record it found by thread id.
//	R0	the system call's number in the entry, and Go's zero register
//		elsewhere: Go's assembler encodes a $0 operand as R0, so the
//		handler clears R0 on entry and after each system call, and
//		restores it for the chain.
//	R3, R4, R5	signo, info and ucontext on the handler's entry; R12 the
//		handler's address (ELFv2). R0 and R3–R5 are kept in R15–R18 for
//		the chain, which also gets R12 = the previous handler's address.
//	R19	the record, in the handler; R20 the request taken.
//
// The handler keeps what must survive its own system calls in the
// non-volatile R15–R20, never touches LR, R1, R2 (the TOC), R13 (the
// thread pointer), R30 (Go's g) or R31 (the assembler's temporary), and
// makes no calls.
//
// The kernel reports an error with CR0's summary-overflow bit and a
// positive errno; kernelEntry turns that into the usual negative result
// right after the sc, and an interrupt resumes at the RET after that
// conversion.
//
// Frames are larger here: safepoint's call.enter converts its pointers in
// place because, with a copy, the nosplit chain from there into
// entersyscall was 32 bytes over the linker's limit on ppc64le.

#include "textflag.h"
#include "record.h"

#define SYS_gettid	207
#define SYS_futex	221
// Offsets in the kernel's ucontext (TestEntryDefines): uc_mcontext at
// 168, its gp_regs at 232: gpr0–31, then nip (word 32) … ccr (word 38),
// which the handler copies. The handler reads and rewrites gp_regs in
// place: the kernel points uc_mcontext.regs (Go's runtime reads through
// it) at them and restores the thread from them.
#define UC_MCONTEXT	168
#define UC_GPRS	232
#define UC_GPR3	256
#define UC_GPR14	344
#define UC_NIP	488
#define RAW_WORDS	39

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// The BL makes the assembler save LR in a frame. kernelEntry returns
// Linux's usual convention (R3 negative on error); R0, which the system
// call number borrowed, is Go's zero register again afterwards.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-88
	MOVD r+0(FP), R14
	MOVD a1+16(FP), R3
	MOVD a2+24(FP), R4
	MOVD a3+32(FP), R5
	MOVD a4+40(FP), R6
	MOVD a5+48(FP), R7
	MOVD a6+56(FP), R8
	MOVD trap+8(FP), R0
	BL ·kernelEntry(SB)
	XOR R0, R0, R0
	MOVW R0, REC_INWRAPPER(R14)
	MOVD $-4096, R11
	CMPU R3, R11
	BGT err
	MOVD R3, r1+64(FP)
	MOVD R0, r2+72(FP)
	MOVD R0, errno+80(FP)
	RET
err:
	MOVD $-1, R11
	MOVD R11, r1+64(FP)
	MOVD R0, r2+72(FP)
	NEG R3, R3
	MOVD R3, errno+80(FP)
	RET

// kernelEntry: see entry_amd64.s. R0 holds the call's number, so nothing
// here may use a $0 operand (see sigHandler). R14 holds the record: the kernel keeps
// the non-volatile R14–R31 across the SYSCALL (sc), which may clobber R0
// and R4–R12. The kernel reports an error with CR0's summary-overflow bit
// and a positive errno; the BVC/NEG pair turns that into a negative one,
// and an interrupt returns (or, rewritten by the handler, resumes at the
// RET with) -EINTR.
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVD $1, R11
	MOVW R11, REC_INWRAPPER(R14)
	MOVWZ REC_INTERRUPT(R14), R11
	CMPW R11, $0
	BNE interrupted
	SYSCALL
	BVC 2(PC)
	NEG R3, R3
	RET
interrupted:
	MOVD $-EINTR, R3
	RET

// STORE(val, off) stores val into the record's (R19) word at off after a
// SYNC, as Go's atomic.Store does. Clobbers R7.
#define STORE(val, off) \
	MOVD $val, R7; \
	SYNC; \
	MOVW R7, off(R19)

// ACK stores val into the record's ack and wakes its waiter. Clobbers
// R3–R12 (the system call's volatile registers); R0 is zero again after.
#define ACK(val) \
	STORE(val, REC_ACK); \
	ADD $REC_ACK, R19, R3; \
	MOVD $FUTEX_WAKE_PRIVATE, R4; \
	MOVD $0x40000000, R5; \
	MOVD $SYS_futex, R0; \
	SYSCALL; \
	XOR R0, R0, R0

// TAKE(req, other) takes request req (a compare-and-swap to taken) or
// branches to other if the request is something else. Clobbers R6–R9.
#define TAKE(req, other) \
	ADD $REC_REQUEST, R19, R6; \
	MOVD $req, R7; \
	MOVD $REQ_TAKEN, R8; \
	LWSYNC; \
	LWAR (R6), R9; \
	CMPW R9, R7; \
	BNE other; \
	STWCCC R8, (R6); \
	BNE -4(PC); \
	LWSYNC

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: R3 signo, R4 info,
// R5 ucontext, LR the kernel's return path, R12 the handler's address
// (ELFv2), on the signal stack. Go's assembler takes R0 for zero (it
// encodes a $0 operand as R0), so R0 is cleared on entry and after every
// system call, and restored for the chain. A system call may clobber R0
// and R3–R12,
// so what must survive one is kept in the non-volatile R15–R20: R0 and
// R3–R5 for the chain (which also gets R12 = the previous handler's
// address, as ELFv2 wants), the record, the request taken. It never
// touches LR, R1, R2 (the TOC), R13 (the thread pointer), R30 (Go's g)
// or R31 (the assembler's temporary), and makes no calls.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOVD R0, R15
	MOVD R3, R16
	MOVD R4, R17
	MOVD R5, R18

	// Find this thread's record.
	MOVD $SYS_gettid, R0
	SYSCALL                 // R3: tid
	XOR R0, R0, R0
	MOVD $TABLE_MASK, R10
	AND R10, R3, R6         // index
	MOVD $·table(SB), R7
	MOVD $TABLE_SIZE, R8
probe:
	SLD $SLOT_SHIFT, R6, R9
	ADD R7, R9, R9          // the slot
	MOVWZ 0(R9), R11
	CMPW R11, R3
	BEQ found
	CMPW R11, $0
	BEQ chain
	ADD $1, R6
	AND R10, R6
	ADD $-1, R8
	CMP R8, $0
	BNE probe
	BR chain
found:
	MOVD 8(R9), R19         // the record
	CMP R19, $0
	BEQ chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register). A word compare: only
	// the low 32 bits of the tid in R3 count.
	MOVWZ REC_TID(R19), R6
	CMPW R6, R3
	BNE chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// SYSCALL, on behalf of this record (R14 carries it through the
	// entry), make the call return -EINTR: resume at the RET after the
	// errno conversion.
	MOVWZ REC_INTERRUPT(R19), R6
	CMPW R6, $0
	BEQ requests
	MOVD UC_GPR14(R18), R6
	CMP R6, R19
	BNE requests
	MOVD UC_NIP(R18), R6
	MOVD ·entryStart(SB), R7
	CMPU R6, R7
	BLT requests
	MOVD ·sysInsn(SB), R7
	CMPU R6, R7
	BGT requests
	ADD $12, R7
	MOVD R7, UC_NIP(R18)
	MOVD $-EINTR, R7
	MOVD R7, UC_GPR3(R18)

requests:
	TAKE(REQ_SUSPEND, sample)
	BR suspend
sample:
	TAKE(REQ_SAMPLE, chain)
	MOVD $REQ_SAMPLE, R20   // the request taken
	BR save

suspend:
	// Park only at the SYSCALL of kernelEntry (pc on it when the call
	// will restart, just after it when it returns) with the record
	// saying the thread is inside the entry, and the entry carrying this
	// record in R14: a stale record of a reused tid, or a record whose
	// owner is in the entry on another thread, never parks this one.
	MOVD $REQ_SUSPEND, R20
	MOVWZ REC_INWRAPPER(R19), R6
	CMPW R6, $0
	BEQ decline
	MOVD UC_GPR14(R18), R6
	CMP R6, R19
	BNE decline
	MOVD UC_NIP(R18), R6
	MOVD ·sysInsn(SB), R7
	CMP R6, R7
	BEQ save
	ADD $4, R7
	CMP R6, R7
	BEQ save
decline:
	STORE(REQ_NONE, REC_REQUEST)
	ACK(ACK_DECLINED)
	BR chain

save:
	// Save the interrupted registers for a sample or a park, into the
	// buffer the initiator attached for the request just taken (TAKE's
	// closing LWSYNC orders this load after the take).
	MOVD REC_BUF(R19), R10
	MOVD $0, R6
copy:
	SLD $3, R6, R7
	ADD R18, R7, R8
	MOVD UC_GPRS(R8), R9
	ADD R10, R7, R8
	MOVD R9, 0(R8)
	ADD $1, R6
	CMP R6, $RAW_WORDS
	BLT copy
	STORE(REQ_NONE, REC_REQUEST)
	CMP R20, $REQ_SAMPLE
	BNE park
	ACK(ACK_SAMPLED)
	BR chain

park:
	ACK(ACK_PARKED)
wait:
	MOVWZ REC_RELEASE(R19), R6
	LWSYNC
	CMPW R6, $0
	BNE released
	ADD $REC_RELEASE, R19, R3
	MOVD $FUTEX_WAIT_PRIVATE, R4
	MOVD $0, R5
	MOVD $0, R6
	MOVD $SYS_futex, R0
	SYSCALL
	XOR R0, R0, R0
	BR wait
released:
	STORE(0, REC_RELEASE)
	ACK(ACK_RESUMED)

chain:
	MOVD $·prevHandlers(SB), R12
	SLD $3, R16, R6
	ADD R6, R12
	MOVD (R12), R12
	MOVD R16, R3
	MOVD R17, R4
	MOVD R18, R5
	MOVD R15, R0
	MOVD R12, CTR
	JMP (CTR)

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-8
	MOVD $·sigHandler(SB), R3
	MOVD R3, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-8
	MOVD $·kernelEntry(SB), R3
	MOVD R3, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-9
	MOVD addr+0(FP), R3
	MOVBZ (R3), R3
	MOVB R3, ret+8(FP)
	RET
