// Offsets into Record and the protocol's constants, shared by the
// assembly files. TestRecordLayout checks them against record.go.

#define REC_REQUEST	0
#define REC_ACK		4
#define REC_RELEASE	8
#define REC_INWRAPPER	12
#define REC_INTERRUPT	16
#define REC_TID		20
#define REC_BUF		24

#define REQ_NONE	0
#define REQ_SUSPEND	1
#define REQ_SAMPLE	2
#define REQ_TAKEN	3

#define ACK_NONE	0
#define ACK_PARKED	1
#define ACK_DECLINED	2
#define ACK_SAMPLED	3
#define ACK_RESUMED	4

#define TABLE_SIZE	4096
#define TABLE_MASK	4095
#define SLOT_SHIFT	4

#define FUTEX_WAIT_PRIVATE	128
#define FUTEX_WAKE_PRIVATE	129
#define EINTR	4
