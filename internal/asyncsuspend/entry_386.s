//go:build linux

// Asynchronous suspension on linux/386: kernelEntry, the one system-call
// instruction at which the handler may park a thread, and sigHandler, the
// signal handler. The protocol is the same on every architecture and
// docs/design.md ("Asynchronous suspension: signals, and why only inside a
// wrapper") describes it; this header says where this architecture keeps
// things. The offsets the handler reads in the kernel's signal frame are
// the UC_* defines below, which TestEntryDefines checks against Go's
// runtime/defs_linux_386.go.
//
// Registers: every general register but SP carries a system call (AX the
// number; BX, CX, DX, SI, DI, BP six arguments), so none can hold the
// record across INT $0x80. kernelEntry reads the record and the call from
// rawSyscall6's arguments on the stack instead, above two return
// addresses: the record is at 8(SP) while eip is in the entry, and the
// handler reads it there, through the frame's esp (UC_ESP), once the pc is
// known to be in the entry.
//
// The kernel passes the handler's arguments on the stack (0(SP) the
// restorer's address, then signo, info, ucontext). The handler leaves SP
// and those words untouched and jumps to Go's handler, which so finds
// them. In the handler BP holds the ucontext, DI the record, BX the
// request taken; it may clobber every register, and calls ack and
// copyContext below SP, on the signal stack.
//
// A slot of the thread table keeps its record in its last word (offset
// 12).

#include "textflag.h"
#include "record.h"

#define SYS_gettid	224
#define SYS_futex	240
// Offsets in the kernel's ucontext (TestEntryDefines): uc_mcontext, a
// struct sigcontext of one word per register, at 20; eax is its word 11,
// eip its word 14, esp its word 7; the handler copies words 0 (gs) to 18
// (ss).
#define UC_MCONTEXT	20
#define UC_ESP	48
#define UC_EAX	64
#define UC_EIP	76
#define RAW_WORDS	19

// func rawSyscall6(r *Record, trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, errno Errno)
// kernelEntry reads the arguments from this frame itself.
TEXT ·rawSyscall6(SB), NOSPLIT, $0-44
	CALL ·kernelEntry(SB)
	MOVL r+0(FP), CX
	MOVL $0, REC_INWRAPPER(CX)
	CMPL AX, $0xfffff001
	JLS ok
	MOVL $-1, r1+32(FP)
	MOVL $0, r2+36(FP)
	NEGL AX
	MOVL AX, errno+40(FP)
	RET
ok:
	MOVL AX, r1+32(FP)
	MOVL DX, r2+36(FP)
	MOVL $0, errno+40(FP)
	RET

// kernelEntry is the only place the handler parks a thread: its INT $0x80
// (found at init, see entry.go). From its first instruction up to and
// including the INT, an interrupt makes the call return -EINTR without
// entering (or re-entering) the kernel, as on amd64. Every general
// register but SP carries the call (AX the number, BX, CX, DX, SI, DI, BP
// the arguments), so no register can hold the record across it: the
// entry reads the record and the call from rawSyscall6's arguments, above
// the two return addresses (into rawSyscall6, and rawSyscall6's own).
TEXT ·kernelEntry(SB), NOSPLIT|NOFRAME, $0-0
	MOVL 8(SP), AX          // r
	MOVL $1, REC_INWRAPPER(AX)
	MOVL REC_INTERRUPT(AX), BX
	TESTL BX, BX
	JNE interrupted
	MOVL 12(SP), AX         // trap
	MOVL 16(SP), BX         // a1 … a6
	MOVL 20(SP), CX
	MOVL 24(SP), DX
	MOVL 28(SP), SI
	MOVL 32(SP), DI
	MOVL 36(SP), BP
	INT $0x80
	RET
interrupted:
	MOVL $-EINTR, AX
	RET

// sigHandler is installed with SA_SIGINFO|SA_ONSTACK. The i386 ABI passes
// the arguments on the stack: 0(SP) the return address (the restorer),
// 4(SP) signo, 8(SP) info, 12(SP) ucontext. The handler leaves SP and
// those words as they are and jumps to the previous handler, which so
// finds its arguments intact; it may clobber every register (the kernel
// restores the interrupted ones from the frame, and Go's handler saves
// what its caller needs). BP holds the ucontext, DI the record, BX the
// request taken; ack and copyContext are called below SP, on the signal
// stack.
TEXT ·sigHandler(SB), NOSPLIT|NOFRAME, $0-0
	MOVL 12(SP), BP

	// Find this thread's record.
	MOVL $SYS_gettid, AX
	INT $0x80
	MOVL AX, BX             // tid
	MOVL BX, CX
	ANDL $TABLE_MASK, CX
	MOVL $·table(SB), DI
	MOVL $TABLE_SIZE, SI
probe:
	MOVL CX, DX
	SHLL $SLOT_SHIFT, DX
	MOVL 0(DI)(DX*1), AX
	CMPL AX, BX
	JEQ found
	TESTL AX, AX
	JEQ chain
	INCL CX
	ANDL $TABLE_MASK, CX
	DECL SI
	JNZ probe
	JMP chain
found:
	MOVL 12(DI)(DX*1), DI   // the record: the slot's last word
	TESTL DI, DI
	JEQ chain
	// A record reused for another thread is not this thread's, whatever
	// slot it was found in (record.go, register).
	CMPL REC_TID(DI), BX
	JNE chain

	// An interrupt: if the thread is in kernelEntry at or before its
	// INT, on behalf of this record, make the call return -EINTR. The
	// entry keeps SP as it found it and reads the record at 8(SP), above
	// the two return addresses; with eip inside the entry, that word is
	// the record the call was made with.
	MOVL REC_INTERRUPT(DI), AX
	TESTL AX, AX
	JEQ requests
	MOVL UC_EIP(BP), AX
	CMPL AX, ·entryStart(SB)
	JCS requests
	CMPL AX, ·sysInsn(SB)
	JHI requests
	MOVL UC_ESP(BP), AX
	MOVL 8(AX), AX
	CMPL AX, DI
	JNE requests
	MOVL ·sysInsn(SB), AX
	ADDL $2, AX
	MOVL AX, UC_EIP(BP)
	MOVL $-EINTR, UC_EAX(BP)

requests:
	MOVL $REQ_SUSPEND, AX
	MOVL $REQ_TAKEN, CX
	LOCK
	CMPXCHGL CX, REC_REQUEST(DI)
	JEQ suspend
	MOVL $REQ_SAMPLE, AX
	LOCK
	CMPXCHGL CX, REC_REQUEST(DI)
	JNE chain
	MOVL $REQ_SAMPLE, BX    // the request taken
	JMP save

suspend:
	// Park only at the INT of kernelEntry (eip on it when the call will
	// restart, just after it when it returns) with the record saying the
	// thread is inside the entry, and the entry's call made with this
	// record (8(SP), as above, read only once eip is known to be there):
	// a stale record of a reused tid, or a record whose owner is in the
	// entry on another thread, never parks this one.
	MOVL $REQ_SUSPEND, BX
	MOVL REC_INWRAPPER(DI), AX
	TESTL AX, AX
	JEQ decline
	MOVL UC_EIP(BP), AX
	MOVL ·sysInsn(SB), CX
	CMPL AX, CX
	JEQ inentry
	ADDL $2, CX
	CMPL AX, CX
	JNE decline
inentry:
	MOVL UC_ESP(BP), AX
	MOVL 8(AX), AX
	CMPL AX, DI
	JEQ save
decline:
	MOVL $REQ_NONE, AX
	XCHGL AX, REC_REQUEST(DI)
	MOVL $ACK_DECLINED, AX
	CALL ack<>(SB)
	JMP chain

save:
	// Save the interrupted registers for a sample or a park.
	CALL copyContext<>(SB)
	MOVL $REQ_NONE, AX
	XCHGL AX, REC_REQUEST(DI)
	CMPL BX, $REQ_SAMPLE
	JNE park
	MOVL $ACK_SAMPLED, AX
	CALL ack<>(SB)
	JMP chain

park:
	MOVL $ACK_PARKED, AX
	CALL ack<>(SB)
wait:
	// futex(&release, FUTEX_WAIT_PRIVATE, 0, NULL): DI and BP, the
	// fifth and sixth arguments, are unused by FUTEX_WAIT.
	MOVL REC_RELEASE(DI), AX
	TESTL AX, AX
	JNE released
	LEAL REC_RELEASE(DI), BX
	MOVL $FUTEX_WAIT_PRIVATE, CX
	MOVL $0, DX
	MOVL $0, SI
	MOVL $SYS_futex, AX
	INT $0x80
	JMP wait
released:
	MOVL $0, AX
	XCHGL AX, REC_RELEASE(DI)
	MOVL $ACK_RESUMED, AX
	CALL ack<>(SB)

chain:
	MOVL 4(SP), AX          // the signal number
	MOVL $·prevHandlers(SB), CX
	MOVL (CX)(AX*4), AX
	JMP AX

// ack stores AX into the record's (DI) ack and wakes its waiter.
// Clobbers AX, BX, CX, DX.
TEXT ack<>(SB), NOSPLIT|NOFRAME, $0-0
	XCHGL AX, REC_ACK(DI)
	LEAL REC_ACK(DI), BX
	MOVL $FUTEX_WAKE_PRIVATE, CX
	MOVL $0x40000000, DX
	MOVL $SYS_futex, AX
	INT $0x80
	RET

// copyContext copies the interrupted registers from the ucontext (BP)
// into the register buffer of the record (DI). Call it only with the
// request taken: the initiator attached that buffer for it, and keeps it
// attached until the answer (record.go, Record). Clobbers AX, CX, DX.
TEXT copyContext<>(SB), NOSPLIT|NOFRAME, $0-0
	MOVL REC_BUF(DI), DX
	MOVL $0, CX
loop:
	MOVL UC_MCONTEXT(BP)(CX*4), AX
	MOVL AX, 0(DX)(CX*4)
	INCL CX
	CMPL CX, $RAW_WORDS
	JLT loop
	RET

// func handlerAddr() uintptr: the ABI0 entry of sigHandler, for the
// kernel.
TEXT ·handlerAddr(SB), NOSPLIT, $0-4
	MOVL $·sigHandler(SB), AX
	MOVL AX, ret+0(FP)
	RET

// func kernelEntryAddr() uintptr
TEXT ·kernelEntryAddr(SB), NOSPLIT, $0-4
	MOVL $·kernelEntry(SB), AX
	MOVL AX, ret+0(FP)
	RET

// func codeByte(addr uintptr) byte
TEXT ·codeByte(SB), NOSPLIT, $0-5
	MOVL addr+0(FP), AX
	MOVB (AX), AX
	MOVB AX, ret+4(FP)
	RET
