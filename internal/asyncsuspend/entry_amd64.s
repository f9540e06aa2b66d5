//go:build linux

// Asynchronous suspension on linux/amd64: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_amd64.go.
//
// Registers:
//
//	R12	the record (*Record) through kernelEntry: rawSyscall6 loads it and
//		the kernel preserves it across SYSCALL, so the handler can check
//		that a thread inside the entry is there with the record it found
//		by thread id (UC_R12 in the frame).
//	DI, SI, DX	signo, info and ucontext on the handler's entry; kept in
//		R12, R13, R14 for the chain to Go's handler.
//	R15	the record, in the handler; BX the request taken.
//
// The handler's state is in R12–R15. It calls its subroutines (ack,
// copyContext) on the signal stack, and may clobber every other register:
// the kernel restores the interrupted ones from the frame, and Go's
// handler saves what it needs.

#include "textflag.h"
#include "record.h"

#define SYS_gettid	186
#define SYS_futex	202
// Offsets of rip, rax and r12 in the kernel's ucontext (uc_mcontext at 40,
// then sigcontext's r8 … : r12 is word 4, rax word 13, rip word 16).
#define UC_R12	72
#define UC_RAX	144
#define UC_RIP	168
#define UC_MCONTEXT	40
#define RAW_WORDS	18

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
TEXT ·rawSyscall6(SB), NOSPLIT, $0-88
	MOVQ r+0(FP), R12
	MOVQ a1+16(FP), DI
	MOVQ a2+24(FP), SI
	MOVQ a3+32(FP), DX
	MOVQ a4+40(FP), R10
	MOVQ a5+48(FP), R8
	MOVQ a6+56(FP), R9
	MOVQ trap+8(FP), AX
	CALL ·kernelEntry(SB)
	MOVL $0, REC_INWRAPPER(R12)
	CMPQ AX, $0xfffffffffffff001
	JLS ok
	MOVQ $-1, r1+64(FP)
	MOVQ $0, r2+72(FP)
	NEGQ AX
	MOVQ AX, errno+80(FP)
	RET
ok:
	MOVQ AX, r1+64(FP)
	MOVQ DX, r2+72(FP)
	MOVQ $0, errno+80(FP)
	RET

// kernelEntry is the only place the handler parks a thread: its SYSCALL
// instruction (found at init, see entry.go). R12 holds the record. From
// its first instruction up to and including the SYSCALL, an interrupt
// makes the call return -EINTR without entering (or re-entering) the
// kernel: the check below covers the time before the flag is seen, the
// handler's rewrite of the saved pc covers the rest.
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVL $1, REC_INWRAPPER(R12)
	MOVL REC_INTERRUPT(R12), R11
	TESTL R11, R11
	JNE interrupted
	SYSCALL
	RET
interrupted:
	MOVQ $-EINTR, AX
	RET

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK: DI signo, SI info,
// DX ucontext, on the signal stack. It keeps DI, SI, DX for the chain in
// R12–R14; everything else it may clobber (the kernel restores the
// interrupted registers from the frame, and Go's handler saves what it
// needs).
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ DI, R12
	MOVQ SI, R13
	MOVQ DX, R14

	// Find this thread's record.
	MOVL $SYS_gettid, AX
	SYSCALL
	MOVL AX, BX             // tid
	MOVL BX, CX
	ANDL $TABLE_MASK, CX
	MOVQ $·table(SB), R8
	MOVL $TABLE_SIZE, R9
probe:
	MOVQ CX, R10
	SHLQ $SLOT_SHIFT, R10
	MOVL 0(R8)(R10*1), AX
	CMPL AX, BX
	JEQ found
	TESTL AX, AX
	JEQ chain
	INCL CX
	ANDL $TABLE_MASK, CX
	DECL R9
	JNZ probe
	JMP chain
found:
	MOVQ 8(R8)(R10*1), R15  // the record
	TESTQ R15, R15
	JEQ chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register).
	CMPL REC_TID(R15), BX
	JNE chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// SYSCALL, on behalf of this record (R12 carries it through the
	// entry), make the call return -EINTR.
	MOVL REC_INTERRUPT(R15), AX
	TESTL AX, AX
	JEQ requests
	CMPQ UC_R12(R14), R15
	JNE requests
	MOVQ UC_RIP(R14), AX
	CMPQ AX, ·entryStart(SB)
	JCS requests
	CMPQ AX, ·sysInsn(SB)
	JHI requests
	MOVQ ·sysInsn(SB), AX
	ADDQ $2, AX
	MOVQ AX, UC_RIP(R14)
	MOVQ $-EINTR, UC_RAX(R14)

requests:
	MOVL $REQ_SUSPEND, AX
	MOVL $REQ_TAKEN, CX
	LOCK
	CMPXCHGL CX, REC_REQUEST(R15)
	JEQ suspend
	MOVL $REQ_SAMPLE, AX
	LOCK
	CMPXCHGL CX, REC_REQUEST(R15)
	JNE chain
	MOVL $REQ_SAMPLE, BX    // the request taken
	JMP save

suspend:
	// Park only at the SYSCALL of kernelEntry (pc on it when the call
	// will restart, just after it when it returns) with the record
	// saying the thread is inside the entry, and the entry carrying this
	// record in R12: a stale record of a reused tid, or a record whose
	// owner is in the entry on another thread, never parks this one.
	MOVL $REQ_SUSPEND, BX
	MOVL REC_INWRAPPER(R15), AX
	TESTL AX, AX
	JEQ decline
	CMPQ UC_R12(R14), R15
	JNE decline
	MOVQ UC_RIP(R14), AX
	MOVQ ·sysInsn(SB), CX
	CMPQ AX, CX
	JEQ save
	ADDQ $2, CX
	CMPQ AX, CX
	JEQ save
decline:
	MOVL $REQ_NONE, AX
	XCHGL AX, REC_REQUEST(R15)
	MOVL $ACK_DECLINED, AX
	CALL ack<>(SB)
	JMP chain

save:
	// Save the interrupted registers for a sample or a park.
	CALL copyContext<>(SB)
	MOVL $REQ_NONE, AX
	XCHGL AX, REC_REQUEST(R15)
	CMPL BX, $REQ_SAMPLE
	JNE park
	MOVL $ACK_SAMPLED, AX
	CALL ack<>(SB)
	JMP chain

park:
	MOVL $ACK_PARKED, AX
	CALL ack<>(SB)
wait:
	MOVL REC_RELEASE(R15), AX
	TESTL AX, AX
	JNE released
	LEAQ REC_RELEASE(R15), DI
	MOVQ $FUTEX_WAIT_PRIVATE, SI
	MOVQ $0, DX
	MOVQ $0, R10
	MOVQ $0, R8
	MOVQ $0, R9
	MOVL $SYS_futex, AX
	SYSCALL
	JMP wait
released:
	MOVL $0, AX
	XCHGL AX, REC_RELEASE(R15)
	MOVL $ACK_RESUMED, AX
	CALL ack<>(SB)

chain:
	MOVQ R12, DI
	MOVQ R13, SI
	MOVQ R14, DX
	MOVQ $·prevHandlers(SB), AX
	MOVQ (AX)(R12*8), AX    // R12: the signal number
	JMP AX

// ack stores AX into the record's ack (R15) and wakes its waiter.
// Clobbers AX, CX, R11, DI, SI, DX, R10, R8, R9.
TEXT ack<>(SB), NOSPLIT|NOFRAME, $0-0
	XCHGL AX, REC_ACK(R15)
	LEAQ REC_ACK(R15), DI
	MOVQ $FUTEX_WAKE_PRIVATE, SI
	MOVQ $0x40000000, DX
	MOVQ $0, R10
	MOVQ $0, R8
	MOVQ $0, R9
	MOVL $SYS_futex, AX
	SYSCALL
	RET

// copyContext copies the interrupted registers from the ucontext (R14)
// into the register buffer of the record (R15). Call it only with the
// request taken: the initiator attached that buffer for it, and keeps it
// attached until the answer (record.go, Record). Clobbers AX, CX, DX.
TEXT copyContext<>(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ REC_BUF(R15), DX
	MOVQ $0, CX
loop:
	MOVQ UC_MCONTEXT(R14)(CX*8), AX
	MOVQ AX, 0(DX)(CX*8)
	INCQ CX
	CMPQ CX, $RAW_WORDS
	JLT loop
	RET

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-8
	MOVQ $·sigHandler(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-8
	MOVQ $·kernelEntry(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-9
	MOVQ addr+0(FP), AX
	MOVB (AX), AX
	MOVB AX, ret+8(FP)
	RET
