package stwmodel

import ts "github.com/coopsuspend/coopsuspend/threadstate"

// The initiator follows sgen's unified stop-the-world (§4.4):
//
//	begin:     take the suspend lock; every registered thread is in the stop
//	request:   REQUEST_SUSPENSION each; a Running thread is a pending
//	           operation (coop, hybrid: its poll notifies; preemptive: a
//	           signal is sent and the handler notifies); a Blocking one
//	           counts as stopped (coop) or needs the next phase (hybrid)
//	wait
//	mopup:     hybrid only: PEEK each; a thread still
//	           BlockingSuspendRequested gets a signal
//	wait
//	critical:  a thread stopped asynchronously in a critical location is
//	           pulsed (hybrid) or resumed (preemptive); wait; re-suspend
//	           the executing ones; wait; repeat until none is critical
//	stopped:   check the end states (I13)
//	restart:   REQUEST_RESUME each; wait for the asynchronous restarts;
//	           check I13 and I14; release the lock
//
// A stop begun with a timeout may instead, during its first wait, abort
// the requests still pending, wait for the threads that stopped anyway,
// resume them and release the lock.

func (m *Model) initiatorStep(c uint8) error {
	in := &m.s.init
	switch c {
	case cBegin, cBeginTimeout:
		return m.begin(c == cBeginTimeout)
	case cConsume:
		m.s.suspendSem--
		in.pending--
		return nil
	case cTimeout:
		m.stats.Timeouts++
		in.canTimeout = false
		in.pc, in.idx = iAbort, 0
		return nil
	case cAdvance:
		return m.advance()
	}
	return protocolErr("initiator: unknown choice %d", c)
}

func (m *Model) begin(withTimeout bool) error {
	// I14 at begin_global_suspend.
	if err := m.checkPendingBalance("begin"); err != nil {
		return err
	}
	m.s.lock = lockInitiator
	in := &m.s.init
	*in = initVars{pc: iRequest, withTimeout: withTimeout}
	for i := 0; i < m.n; i++ {
		t := &m.s.threads[i]
		t.critical, t.criticalUsed = false, false
		in.inSTW[i] = t.pc != tUnattached && t.pc != tDetached
	}
	return nil
}

func (m *Model) checkPendingBalance(where string) error {
	if m.s.init.pending != 0 || m.s.suspendSem != 0 {
		return protocolErr("I14 at %s: %d operations pending, %d notifications unconsumed",
			where, m.s.init.pending, m.s.suspendSem)
	}
	return nil
}

// advance takes the current phase's step on thread idx.
func (m *Model) advance() error {
	in := &m.s.init
	i := int(in.idx)
	t := &m.s.threads[i]
	initiate := func(e ts.Event) (ts.Result, error) { return m.apply(i, ts.Initiator, e) }
	signal := func() {
		t.sigPending = true
		in.pending++
		m.stats.Signals++
	}
	restart := func() {
		t.restartPending = true
		in.pending++
	}
	switch in.pc {
	case iRequest:
		r, err := initiate(ts.RequestSuspension)
		if err != nil {
			return err
		}
		switch r {
		case ts.ReqSuspendInitSuspendRunning:
			in.requested[i] = true
			if m.policy.safepoints() {
				in.pending++ // its poll will notify
			} else {
				signal()
			}
		case ts.ReqSuspendInitSuspendBlocking:
			if m.policy == Hybrid {
				in.needNextPhase = true
			}
		case ts.ReqSuspendAlreadySuspended:
		case ts.ReqSuspendAlreadySuspendedBlocking:
			if m.policy == Hybrid {
				return protocolErr("thread%d: already BlockingSuspendRequested in the first hybrid phase", i)
			}
		default:
			return protocolErr("thread%d: REQUEST_SUSPENSION returned %v", i, r)
		}
	case iMopup:
		r, err := initiate(ts.PeekBlockingSuspendRequested)
		if err != nil {
			return err
		}
		if r == ts.True {
			signal()
		}
	case iCritical:
		if n := m.cells[i].Load().Count(); n != 1 {
			return protocolErr("thread%d: suspend count %d in a critical location, should be 1", i, n)
		}
		t.critical = false
		in.restartCounter++
		if m.policy == Hybrid {
			r, err := initiate(ts.RequestPulse)
			if err != nil {
				return err
			}
			if r != ts.PulseInitAsyncPulse {
				return protocolErr("thread%d: REQUEST_PULSE returned %v", i, r)
			}
			m.stats.Pulses++
		} else {
			r, err := initiate(ts.RequestResume)
			if err != nil {
				return err
			}
			if r != ts.ResumeInitAsyncResume {
				return protocolErr("thread%d: resume from a critical location returned %v", i, r)
			}
		}
		restart()
	case iResuspend:
		if m.policy == Hybrid {
			r, err := initiate(ts.PeekBlockingSuspendRequested)
			if err != nil {
				return err
			}
			if r == ts.True {
				signal()
			}
		} else {
			r, err := initiate(ts.RequestSuspension)
			if err != nil {
				return err
			}
			if r != ts.ReqSuspendInitSuspendRunning {
				return protocolErr("thread%d: re-suspend returned %v", i, r)
			}
			signal()
		}
	case iRestart, iRollbackResume:
		r, err := initiate(ts.RequestResume)
		if err != nil {
			return err
		}
		switch r {
		case ts.ResumeOk:
		case ts.ResumeInitSelfResume, ts.ResumeInitBlockingResume:
			t.resumeSem++ // fire and forget: no acknowledgement
		case ts.ResumeInitAsyncResume:
			restart()
		default:
			return protocolErr("thread%d: REQUEST_RESUME returned %v", i, r)
		}
	case iAbort:
		r, err := initiate(ts.AbortAsyncSuspend)
		if err != nil {
			return err
		}
		switch r {
		case ts.True:
			// Rolled back before the thread polled: it will never
			// notify, and it holds no count to resume.
			in.aborted[i] = true
			in.pending--
		case ts.False:
			// It stopped anyway; its notification is (or was)
			// posted, and it is resumed below.
		default:
			return protocolErr("thread%d: ABORT_ASYNC_SUSPEND returned %v", i, r)
		}
	default:
		return protocolErr("initiator: no step at %v", in.pc)
	}
	in.idx++
	return nil
}

// settle makes the initiator's local moves (moving to the next thread of a
// phase, to the next phase, finishing a wait whose operations are all done)
// until its next step is an atomic one.
func (m *Model) settle() error {
	in := &m.s.init
	for {
		switch in.pc {
		case iIdle:
			return nil
		case iWait:
			if in.pending > 0 {
				return nil
			}
			in.canTimeout = false
			if in.next == iIdle {
				return m.finish()
			}
			in.pc, in.idx = in.next, 0
			if in.pc == iCritical {
				in.restartCounter = 0
			}
			continue
		}
		// A phase: skip threads that take no step in it.
		for int(in.idx) < m.n && !m.takesStep(int(in.idx)) {
			in.idx++
		}
		if int(in.idx) < m.n {
			return nil
		}
		if err := m.endPhase(); err != nil {
			return err
		}
	}
}

// takesStep reports whether thread i takes a step in the current phase.
// For the critical phase it also marks the threads that are done.
func (m *Model) takesStep(i int) bool {
	in := &m.s.init
	if !in.inSTW[i] {
		return false
	}
	switch in.pc {
	case iRequest, iRestart:
		return true
	case iMopup:
		return !in.done[i]
	case iCritical:
		if in.done[i] {
			return false
		}
		if !m.s.threads[i].critical {
			in.done[i] = true
			return false
		}
		return true
	case iResuspend:
		return !in.done[i] && m.cells[i].Load().State().IsExecuting()
	case iAbort:
		return in.requested[i]
	case iRollbackResume:
		return !in.aborted[i]
	}
	return false
}

// endPhase moves the initiator on when every thread has taken its step in
// the current phase.
func (m *Model) endPhase() error {
	in := &m.s.init
	wait := func(next ipc) {
		in.pc, in.next, in.idx = iWait, next, 0
	}
	switch in.pc {
	case iRequest:
		wait(iCritical)
		if in.needNextPhase {
			in.next = iMopup
		}
		in.canTimeout = in.withTimeout
	case iMopup:
		wait(iCritical)
	case iCritical:
		if in.restartCounter == 0 {
			return m.stopped()
		}
		wait(iResuspend)
	case iResuspend:
		wait(iCritical)
	case iRestart, iRollbackResume:
		wait(iIdle) // settle finishes the stop when the wait is over
	case iAbort:
		wait(iRollbackResume)
	default:
		return protocolErr("initiator: no phase at %v", in.pc)
	}
	return nil
}

// stopped is the moment stop_world returns: check I13, then restart.
func (m *Model) stopped() error {
	in := &m.s.init
	m.stats.Stops++
	for i := 0; i < m.n; i++ {
		if !in.inSTW[i] {
			continue
		}
		w := m.cells[i].Load()
		if !in.done[i] {
			return protocolErr("I13: thread%d is not done when the world is stopped", i)
		}
		if !m.policy.EndStates().Has(w.State()) || w.Count() != 1 {
			return protocolErr("I13: thread%d is %v when the world is stopped; %v allows %v with count 1",
				i, w, m.policy, m.policy.EndStates())
		}
		m.stats.EndVisited = m.stats.EndVisited.With(w.State())
	}
	in.pc, in.idx = iRestart, 0
	return nil
}

// finish is restart_world's end: I14 and the restart postcondition (I13),
// then the lock is released.
func (m *Model) finish() error {
	in := &m.s.init
	if err := m.checkPendingBalance("end"); err != nil {
		return err
	}
	for i := 0; i < m.n; i++ {
		if !in.inSTW[i] {
			continue
		}
		if w := m.cells[i].Load(); w.Count() != 0 {
			return protocolErr("I13: thread%d is %v after the restart, want count 0", i, w)
		}
	}
	*in = initVars{}
	m.s.lock = lockFree
	return nil
}
