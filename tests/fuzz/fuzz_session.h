/*
 * The input format of the fuzz_session target, shared by the target and the seed generator
 * (gen_corpus.c), so that seeds and harness never disagree on what a byte means.
 *
 *   byte 0      configuration, enum fuzz_session_cfg
 *   byte 1      devices and service, enum fuzz_session_dev: how many fake OpenCL devices the
 *               daemon owns (0-3), whether the first is a CPU device holding the last core,
 *               tight device bounds, a drain that closes the sessions at once
 *   then records, each an op byte: op = b & 15, connection = (b >> 4) % FUZZ_SESSION_CONNS,
 *   followed by the op's operands:
 *     WRITE       u16 LE length, then that many bytes for the connection's socket (cut short at
 *                 the end of the input): anything at all, framed or not
 *     PUMP        run the daemon's loop until it is idle, reading what it sends
 *     DONE        u8 n: one Done for the first max(n, 1) tasks granted and not yet answered
 *     DONE_ONE    u8 i: a Done for the i-th granted task (mod the count) alone
 *     CLOSE       close the connection (the daemon sees end of stream, or a reset when the
 *                 harness left replies unread)
 *     SHUT_WR     half-close: end of stream for the daemon, replies still read
 *     DONE_ALL    every connection answers its grants (Done, then DeviceDone for OpenCL
 *                 grants) until the daemon grants no more (well-behaved clients); then every
 *                 task must have completed (for all connections: the op's own is ignored)
 *     SUBMIT      u8 n, then n task bytes: one Submit of max(n, 1) tasks with the connection's
 *                 next ids (counted by the harness over its own SUBMITs; raw WRITEs that submit
 *                 put it out of sequence, which the daemon must refuse). A task byte: bits 0-2
 *                 address slot a (0x1000 + 64 a), bits 3-4 access IN, OUT, INOUT, or 3 = IN on
 *                 slot a and OUT on 96 bytes from slot a + 1 (partial overlap), bit 5 two cores,
 *                 bit 6 offers OpenCL too (with bit 5: OpenCL only), bit 7 no access at all;
 *                 tasks on slot 7 have priority 1
 *     HELLO       u8 h: bit 0 role CTL (else CLIENT), bits 1-2 job "j0".."j3", bits 3-7 weight
 *     WAIT        u8 w: 0xff waits for all; else a range like a task byte's first access
 *     SET_WEIGHT  u8 weight (0 is invalid: the daemon must refuse it)
 *     STATUS      a StatusRequest
 *     BYE         a Bye
 *     STALL       the harness stops reading this connection (or starts again): the daemon's
 *                 output backs up into libuv write requests
 *     DEVICE_DONE u8 i: a DeviceDone for the i-th OpenCL task whose Done was sent (its device
 *                 work completed); with none, for the i-th granted task (before its Done: a
 *                 violation the daemon must refuse)
 *     ADMIN       u8 a: an administrator's request (the daemon answers CtlReply, or TraceChunks):
 *                 a & 3 = 0 DrainRequest, 1 KillRequest of connection (a >> 2) & 3's session
 *                 (3: of session id a >> 4), 2 TraceStart of (a >> 2) * 512 events, 3 TraceStop
 * DONE, DONE_ONE, DONE_ALL and DEVICE_DONE first run the loop to idle so that the grants are
 * known; the others only write (WRITE runs the loop when the socket is full). A connection is
 * opened by the first op that writes to it, and reopened after CLOSE. After the last record
 * the harness closes every connection (or, with FUZZ_CFG_STOP_WITH_CLIENTS, stops the daemon
 * while they are open), runs the loop to idle and checks the daemon is whole again.
 */
#ifndef NODUS_FUZZ_SESSION_H
#define NODUS_FUZZ_SESSION_H

#define FUZZ_SESSION_CONNS 3

enum fuzz_session_cfg {
    FUZZ_CFG_NO_LOOKAHEAD = 1 << 0,         /* sched.lookahead = 0 */
    FUZZ_CFG_RESERVE_AT_ONCE = 1 << 1,      /* sched.reserve_after_ms = 0 */
    FUZZ_CFG_FEW_OUTSTANDING = 1 << 2,      /* limits.max_outstanding_tasks = 8 */
    FUZZ_CFG_ONE_SESSION_PER_USER = 1 << 3, /* limits.max_sessions_per_user = 1 */
    FUZZ_CFG_THREE_CORES = 1 << 4,          /* three cores instead of two */
    FUZZ_CFG_SMALL_BUFFERS = 1 << 5,        /* smallest socket buffers: partial writes */
    FUZZ_CFG_STOP_WITH_CLIENTS = 1 << 6,    /* end with daemon_stop, connections still open */
    FUZZ_CFG_TRACE = 1 << 7,                /* grant trace on (to /dev/null) */
};

enum fuzz_session_dev {
    FUZZ_DEV_CPU = 1 << 2,       /* device 0 is a CPU device (PoCL-like): holds the last core(s) */
    FUZZ_DEV_TIGHT = 1 << 3,     /* devices.slots 2, max_in_flight 2, max_in_flight_per_session 1 */
    FUZZ_SVC_DRAIN_NOW = 1 << 4, /* daemon.drain_timeout_s = 0 (else 60: a drain waits) */
};
/* OpenCL devices the daemon owns: bits 0-1 of byte 1. */
#define FUZZ_DEV_COUNT(b) ((size_t)((b)&3u))

enum fuzz_session_op {
    FUZZ_OP_WRITE = 0,
    FUZZ_OP_PUMP = 1,
    FUZZ_OP_DONE = 2,
    FUZZ_OP_DONE_ONE = 3,
    FUZZ_OP_CLOSE = 4,
    FUZZ_OP_SHUT_WR = 5,
    FUZZ_OP_DONE_ALL = 6,
    FUZZ_OP_SUBMIT = 7,
    FUZZ_OP_HELLO = 8,
    FUZZ_OP_WAIT = 9,
    FUZZ_OP_SET_WEIGHT = 10,
    FUZZ_OP_STATUS = 11,
    FUZZ_OP_BYE = 12,
    FUZZ_OP_STALL = 13,
    FUZZ_OP_DEVICE_DONE = 14,
    FUZZ_OP_ADMIN = 15,
};

/* ADMIN operand */
#define FUZZ_ADMIN_DRAIN          0u
#define FUZZ_ADMIN_KILL_CONN(c)   (1u | ((unsigned)(c) << 2))
#define FUZZ_ADMIN_TRACE_START(k) (2u | ((unsigned)(k) << 2)) /* k * 512 events */
#define FUZZ_ADMIN_TRACE_STOP     3u

/* HELLO operand bits */
#define FUZZ_HELLO_CTL       0x01
#define FUZZ_HELLO_JOB(j)    ((unsigned char)(((j)&3) << 1))
#define FUZZ_HELLO_WEIGHT(w) ((unsigned char)(((w)&31) << 3))
/* WAIT operand: wait for every task */
#define FUZZ_WAIT_ALL 0xff

/* The op byte for `op` on connection `conn`. */
#define FUZZ_OP(op, conn) ((unsigned char)((op) | ((conn) << 4)))

#endif
