/*
 * The input format of the fuzz_session target, shared by the target and the seed generator
 * (gen_corpus.c), so that seeds and harness never disagree on what a byte means.
 *
 *   byte 0      configuration: bit 0 lookahead off, bit 1 reserve wide tasks at once,
 *               bit 2 max_outstanding_tasks = 8, bit 3 max_sessions_per_user = 1,
 *               bit 4 max_weight = 1
 *   then records, each an op byte: op = b & 7, connection = (b >> 3) % FUZZ_SESSION_CONNS,
 *   followed by the op's operands:
 *     WRITE      u16 LE length, then that many bytes for the connection's socket (cut short at
 *                the end of the input)
 *     PUMP       run the daemon's loop until it is idle, reading what it sends
 *     DONE       u8 n: send one Done for the first max(n, 1) tasks granted and not yet done
 *     DONE_ONE   u8 i: send a Done for the i-th granted task (mod the count) alone
 *     CLOSE      close the connection (the daemon sees end of stream)
 *     SHUT_WR    half-close: end of stream for the daemon, replies still read
 *     DONE_ALL   answer grants until the daemon grants no more (a well-behaved client's loop)
 *     SUBMIT     u8 n, then n task bytes: one Submit of max(n, 1) tasks with the connection's
 *                next ids (counted by the harness over its SUBMITs only; raw WRITEs that submit
 *                put it out of sequence, which the daemon must refuse). A task byte says:
 *                bits 0-2 address slot a (0x1000 + 64 a), bits 3-4 access mode IN, OUT, INOUT,
 *                or 3 = IN on slot a and OUT on 96 bytes from slot a + 1 (partial overlap),
 *                bit 5 two cores, bit 6 priority 1, bit 7 no access at all
 * DONE, DONE_ONE and DONE_ALL first run the loop to idle so that the grants are known; WRITE
 * runs it only when the socket is full.
 * A connection is opened on first use. After the last record the harness closes every
 * connection, runs the loop to idle and checks the daemon is whole again.
 */
#ifndef NODUS_FUZZ_SESSION_H
#define NODUS_FUZZ_SESSION_H

#define FUZZ_SESSION_CONNS 3

enum fuzz_session_cfg {
    FUZZ_CFG_NO_LOOKAHEAD = 1 << 0,
    FUZZ_CFG_RESERVE_AT_ONCE = 1 << 1,
    FUZZ_CFG_FEW_OUTSTANDING = 1 << 2,
    FUZZ_CFG_ONE_SESSION_PER_USER = 1 << 3,
    FUZZ_CFG_MAX_WEIGHT_1 = 1 << 4,
};

enum fuzz_session_op {
    FUZZ_OP_WRITE = 0,
    FUZZ_OP_PUMP = 1,
    FUZZ_OP_DONE = 2,
    FUZZ_OP_DONE_ONE = 3,
    FUZZ_OP_CLOSE = 4,
    FUZZ_OP_SHUT_WR = 5,
    FUZZ_OP_DONE_ALL = 6,
    FUZZ_OP_SUBMIT = 7,
};

/* The op byte for `op` on connection `conn`. */
#define FUZZ_OP(op, conn) ((unsigned char)((op) | ((conn) << 3)))

#endif
