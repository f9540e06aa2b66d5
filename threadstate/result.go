package threadstate

import "strconv"

// Result is what a transition tells its caller to do next. NoResult, True
// and False serve the transitions that return nothing or a boolean in Mono;
// the rest are Mono's result enums, in their order.
type Result uint8

const (
	// NoResult: Attach, BeginNoSafepoints, EndNoSafepoints return nothing.
	NoResult Result = iota
	// True and False: Detach (detached / retry later),
	// PeekBlockingSuspendRequested (still requested / already stopped),
	// AbortAsyncSuspend (rolled back / already self-suspended),
	// FinishAsyncSuspend (park / do not park).
	True
	False

	// ReqSuspendAlreadySuspended: the thread was already stopped; only
	// the count grew.
	ReqSuspendAlreadySuspended
	// ReqSuspendAlreadySuspendedBlocking: the thread was already
	// BlockingSuspendRequested and still runs GC-safe code; only the
	// count grew.
	ReqSuspendAlreadySuspendedBlocking
	// ReqSuspendInitSuspendRunning: the thread was Running; the caller
	// must start the suspend (wait for its poll).
	ReqSuspendInitSuspendRunning
	// ReqSuspendInitSuspendBlocking: the thread was Blocking; under coop
	// it counts as suspended, under hybrid it gets a mop-up phase.
	ReqSuspendInitSuspendBlocking

	// SelfSuspendResumed: no request pending, keep running.
	SelfSuspendResumed
	// SelfSuspendNotifyAndWait: now SelfSuspended; notify the initiator,
	// then wait for resume.
	SelfSuspendNotifyAndWait

	// ResumeError: the thread was not suspended; nothing changed.
	ResumeError
	// ResumeOk: the count dropped and nothing else is to be done.
	ResumeOk
	// ResumeInitSelfResume: wake the self-suspended thread's semaphore.
	ResumeInitSelfResume
	// ResumeInitAsyncResume: restart the asynchronously suspended
	// thread through the signal backend.
	ResumeInitAsyncResume
	// ResumeInitBlockingResume: wake the BlockingSelfSuspended thread's
	// semaphore; it finishes its interrupted exit from the GC-safe region.
	ResumeInitBlockingResume

	// PulseInitAsyncPulse: restart the thread through the signal backend;
	// its word is already BlockingSuspendRequested.
	PulseInitAsyncPulse

	// DoBlockingContinue: now GC-safe.
	DoBlockingContinue
	// DoBlockingPollAndRetry: a suspend request won the race; poll, then
	// retry DoBlocking.
	DoBlockingPollAndRetry

	// DoneBlockingOk: back in GC-unsafe mode.
	DoneBlockingOk
	// DoneBlockingWait: a suspend is pending; wait for resume, after
	// which the thread is Running.
	DoneBlockingWait

	// AbortBlockingIgnore: already GC-unsafe; nothing to undo later.
	AbortBlockingIgnore
	// AbortBlockingIgnoreAndPoll: already GC-unsafe with a request
	// pending; poll now.
	AbortBlockingIgnoreAndPoll
	// AbortBlockingOk: was GC-safe, now Running; re-enter the GC-safe
	// region (DoBlocking) when done.
	AbortBlockingOk
	// AbortBlockingWait: was GC-safe with a suspend pending; wait for
	// resume, then the thread is Running.
	AbortBlockingWait
)

// NumResults is the number of results; valid Result values are
// [0, NumResults).
const NumResults = 23

var resultNames = [NumResults]string{
	NoResult:                           "NoResult",
	True:                               "True",
	False:                              "False",
	ReqSuspendAlreadySuspended:         "ReqSuspendAlreadySuspended",
	ReqSuspendAlreadySuspendedBlocking: "ReqSuspendAlreadySuspendedBlocking",
	ReqSuspendInitSuspendRunning:       "ReqSuspendInitSuspendRunning",
	ReqSuspendInitSuspendBlocking:      "ReqSuspendInitSuspendBlocking",
	SelfSuspendResumed:                 "SelfSuspendResumed",
	SelfSuspendNotifyAndWait:           "SelfSuspendNotifyAndWait",
	ResumeError:                        "ResumeError",
	ResumeOk:                           "ResumeOk",
	ResumeInitSelfResume:               "ResumeInitSelfResume",
	ResumeInitAsyncResume:              "ResumeInitAsyncResume",
	ResumeInitBlockingResume:           "ResumeInitBlockingResume",
	PulseInitAsyncPulse:                "PulseInitAsyncPulse",
	DoBlockingContinue:                 "DoBlockingContinue",
	DoBlockingPollAndRetry:             "DoBlockingPollAndRetry",
	DoneBlockingOk:                     "DoneBlockingOk",
	DoneBlockingWait:                   "DoneBlockingWait",
	AbortBlockingIgnore:                "AbortBlockingIgnore",
	AbortBlockingIgnoreAndPoll:         "AbortBlockingIgnoreAndPoll",
	AbortBlockingOk:                    "AbortBlockingOk",
	AbortBlockingWait:                  "AbortBlockingWait",
}

func (r Result) String() string {
	if r < NumResults {
		return resultNames[r]
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}
