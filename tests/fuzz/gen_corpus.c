/*
 * Writes the structure-aware seed corpus of the fuzz targets:
 *
 *   gen_corpus OUTDIR     ->  OUTDIR/frame/NAME and OUTDIR/session/NAME
 *
 * Frame seeds are framed messages of every type, alone and in streams, with chunkings that cut
 * frames and headers apart, plus the bad lengths. Session seeds (format in fuzz_session.h) are
 * whole conversations: a client's Hello, Submit chains and fan-outs, Dones, Waits and Bye; a
 * control connection's StatusRequest; several clients sharing the two cores, one killed while
 * it runs; reconnects; the limits; peers that stop reading; a daemon stopped under its
 * clients; and every protocol violation the daemon must refuse. The
 * fuzzer mutates from there, so it starts deep in the state machine instead of at Hello.
 * Generated at build time, not checked in; tests/fuzz/corpus/ holds only regression inputs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frame.h"
#include "fuzz_session.h"
#include "nodus_limits.h"

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static const char *out_dir;
static unsigned nwritten;

static void put(buf_t *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "gen_corpus: out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u8(buf_t *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put_le32(buf_t *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, p, 4);
}

static void buf_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void save(const char *kind, const char *name, const buf_t *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, kind, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    nwritten++;
}

/* ---- messages, framed ---- */

static void frame(buf_t *b, const Nodus__V1__Msg *m)
{
    frame_buf_t fb;
    frame_buf_init(&fb);
    if (frame_buf_append(&fb, m, NODUS_MAX_FRAME) < 0) {
        fprintf(stderr, "gen_corpus: cannot frame a message\n");
        exit(1);
    }
    put(b, fb.data, fb.len);
    frame_buf_free(&fb);
}

static void hello(buf_t *b, Nodus__V1__Role role, uint32_t minv, uint32_t maxv, const char *job,
                  uint32_t weight)
{
    Nodus__V1__Hello h = NODUS__V1__HELLO__INIT;
    h.min_version = minv;
    h.max_version = maxv;
    h.role = role;
    h.job_name = (char *)job;
    h.weight = weight;
    h.client_name = "fuzz-seed";
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_HELLO;
    m.hello = &h;
    frame(b, &m);
}

static void client_hello(buf_t *b, const char *job)
{
    hello(b, NODUS__V1__ROLE__ROLE_CLIENT, 1, 1, job, 0);
}

/* One Submit of tasks first_id.. with one access each (addr, len, mode) and ncores. */
static void submit(buf_t *b, uint64_t first_id, size_t n, uint64_t addr, uint64_t len,
                   Nodus__V1__AccessMode mode, uint32_t ncores)
{
    Nodus__V1__TaskSpec *specs = calloc(n, sizeof *specs);
    Nodus__V1__TaskSpec **ptrs = calloc(n, sizeof *ptrs);
    Nodus__V1__Access acc = NODUS__V1__ACCESS__INIT, *accp = &acc;
    acc.addr = addr;
    acc.len = len;
    acc.mode = mode;
    for (size_t i = 0; i < n; i++) {
        nodus__v1__task_spec__init(&specs[i]);
        specs[i].id = first_id + i;
        specs[i].ncores = ncores;
        specs[i].label = "seed";
        specs[i].n_accesses = len ? 1 : 0;
        specs[i].accesses = &accp;
        ptrs[i] = &specs[i];
    }
    Nodus__V1__Submit s = NODUS__V1__SUBMIT__INIT;
    s.n_tasks = n;
    s.tasks = ptrs;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &s;
    frame(b, &m);
    free(specs);
    free(ptrs);
}

static void done(buf_t *b, const uint64_t *ids, size_t n)
{
    Nodus__V1__Done d = NODUS__V1__DONE__INIT;
    d.n_task_ids = n;
    d.task_ids = (uint64_t *)ids;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &d;
    frame(b, &m);
}

static void device_done(buf_t *b, uint64_t id)
{
    Nodus__V1__DeviceDone d = NODUS__V1__DEVICE_DONE__INIT;
    d.n_task_ids = 1;
    d.task_ids = &id;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DEVICE_DONE;
    m.device_done = &d;
    frame(b, &m);
}

static void wait_msg(buf_t *b, uint64_t token, uint64_t addr, uint64_t len)
{
    Nodus__V1__Wait w = NODUS__V1__WAIT__INIT;
    w.token = token;
    w.addr = addr;
    w.len = len;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WAIT;
    m.wait = &w;
    frame(b, &m);
}

static void set_weight(buf_t *b, uint32_t weight)
{
    Nodus__V1__SetWeight w = NODUS__V1__SET_WEIGHT__INIT;
    w.weight = weight;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SET_WEIGHT;
    m.set_weight = &w;
    frame(b, &m);
}

static void status_request(buf_t *b)
{
    Nodus__V1__StatusRequest r = NODUS__V1__STATUS_REQUEST__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    m.status_request = &r;
    frame(b, &m);
}

static void bye(buf_t *b)
{
    Nodus__V1__Bye y = NODUS__V1__BYE__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_BYE;
    m.bye = &y;
    frame(b, &m);
}

/* Messages only the daemon sends: a peer sending them breaks the protocol. */
static void welcome(buf_t *b)
{
    uint32_t cores[2] = {4, 9};
    Nodus__V1__Welcome w = NODUS__V1__WELCOME__INIT;
    w.version = 1;
    w.session_id = 7;
    w.n_cores = 2;
    w.cores = cores;
    w.weight = 1;
    w.max_frame = NODUS_MAX_FRAME;
    w.max_tasks_per_submit = NODUS_MAX_TASKS_PER_SUBMIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WELCOME;
    m.welcome = &w;
    frame(b, &m);
}

static void grants(buf_t *b)
{
    uint32_t cores[2] = {4, 9};
    Nodus__V1__Grant g = NODUS__V1__GRANT__INIT, *gp = &g;
    g.task_id = 1;
    g.n_cores = 2;
    g.cores = cores;
    Nodus__V1__Grants gs = NODUS__V1__GRANTS__INIT;
    gs.n_grants = 1;
    gs.grants = &gp;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_GRANTS;
    m.grants = &gs;
    frame(b, &m);
}

static void error_msg(buf_t *b)
{
    Nodus__V1__Error e = NODUS__V1__ERROR__INIT;
    e.code = -3;
    e.message = "seed error";
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_ERROR;
    m.error = &e;
    frame(b, &m);
}

static void status_reply(buf_t *b)
{
    Nodus__V1__CoreStatus c = NODUS__V1__CORE_STATUS__INIT, *cp = &c;
    c.cpu = 4;
    c.busy = 1;
    c.session_id = 1;
    c.task_id = 3;
    c.label = "seed";
    Nodus__V1__SessionStatus s = NODUS__V1__SESSION_STATUS__INIT, *sp = &s;
    s.session_id = 1;
    s.job_name = "job";
    s.client_name = "seed";
    s.role = NODUS__V1__ROLE__ROLE_CLIENT;
    Nodus__V1__DaemonCounters k = NODUS__V1__DAEMON_COUNTERS__INIT;
    k.sessions_total = 1;
    Nodus__V1__StatusReply r = NODUS__V1__STATUS_REPLY__INIT;
    r.pid = 42;
    r.version = "0.1.0";
    r.n_cores = 1;
    r.cores = &cp;
    r.n_sessions = 1;
    r.sessions = &sp;
    r.counters = &k;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REPLY;
    m.status_reply = &r;
    frame(b, &m);
}

/* ---- frame seeds: flags byte, chunk sizes, stream (fuzz_frame.c) ---- */

static void frame_seed(const char *name, const buf_t *stream)
{
    static const struct {
        const char *suffix;
        uint8_t flags;
        uint8_t chunks[4];
    } ways[] = {
        {"whole", 0x00, {0}},
        {"bytewise", 0x11, {1}},      /* one byte at a time, libuv path */
        {"split", 0x83, {3, 5, 2}},   /* headers cut apart, 2 cores */
        {"small_max", 0x62, {7, 64}}, /* max_frame 64, 1 core */
    };
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        buf_t b = {0};
        size_t k = ways[i].flags & 0x0f;
        put_u8(&b, ways[i].flags);
        put(&b, ways[i].chunks, k);
        put(&b, stream->p, stream->len);
        char full[128];
        snprintf(full, sizeof full, "%s_%s", name, ways[i].suffix);
        save("frame", full, &b);
        buf_free(&b);
    }
}

static void gen_frames(void)
{
    buf_t b = {0};
    static const uint64_t ids[] = {1, 2, 3};

#define ONE(name, stmt)                                                                            \
    do {                                                                                           \
        stmt;                                                                                      \
        frame_seed(name, &b);                                                                      \
        buf_free(&b);                                                                              \
    } while (0)
    ONE("hello", client_hello(&b, "job"));
    ONE("hello_ctl", hello(&b, NODUS__V1__ROLE__ROLE_CTL, 1, 1, "", 0));
    ONE("submit", submit(&b, 1, 3, 0x1000, 64, NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT, 1));
    ONE("done", done(&b, ids, 3));
    ONE("device_done", device_done(&b, 2));
    ONE("wait", wait_msg(&b, 9, 0x1000, 64));
    ONE("set_weight", set_weight(&b, 3));
    ONE("status_request", status_request(&b));
    ONE("status_reply", status_reply(&b));
    ONE("bye", bye(&b));
    ONE("welcome", welcome(&b));
    ONE("grants", grants(&b));
    ONE("error", error_msg(&b));
    ONE("stream", {
        client_hello(&b, "job");
        submit(&b, 1, 2, 0x1000, 64, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1);
        done(&b, ids, 2);
        wait_msg(&b, 1, 0, 0);
        bye(&b);
    });
    ONE("zero_length", put_le32(&b, 0));
    ONE("oversized", {
        put_le32(&b, NODUS_MAX_FRAME + 1);
        put(&b, "xx", 2);
    });
    ONE("truncated", {
        client_hello(&b, "job");
        b.len -= 3;
    });
    ONE("garbage", {
        put_le32(&b, 6);
        put(&b, "\xff\xff\xff\xff\xff\x01", 6);
    });
#undef ONE
}

/* ---- session seeds (fuzz_session.h) ---- */

/* A WRITE record of the bytes in `msgs` on connection `conn`. */
static void s_write(buf_t *b, unsigned conn, buf_t *msgs)
{
    size_t off = 0;
    while (off < msgs->len) {
        size_t n = msgs->len - off > 0xffff ? 0xffff : msgs->len - off;
        put_u8(b, FUZZ_OP(FUZZ_OP_WRITE, conn));
        put_u8(b, (unsigned)(n & 0xff));
        put_u8(b, (unsigned)(n >> 8));
        put(b, msgs->p + off, n);
        off += n;
    }
    buf_free(msgs);
}

static void s_op(buf_t *b, unsigned op, unsigned conn)
{
    put_u8(b, FUZZ_OP(op, conn));
}

static void s_op1(buf_t *b, unsigned op, unsigned conn, unsigned arg)
{
    put_u8(b, FUZZ_OP(op, conn));
    put_u8(b, arg);
}

/* A SUBMIT record of n tasks all described by `desc` (fuzz_session.h). */
static void s_submit(buf_t *b, unsigned conn, size_t n, uint8_t desc)
{
    put_u8(b, FUZZ_OP(FUZZ_OP_SUBMIT, conn));
    put_u8(b, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        put_u8(b, desc);
}

static void s_hello(buf_t *b, unsigned conn, const char *job)
{
    buf_t m = {0};
    client_hello(&m, job);
    s_write(b, conn, &m);
}

static void s_wait_all(buf_t *b, unsigned conn, uint64_t token)
{
    buf_t m = {0};
    wait_msg(&m, token, 0, 0);
    s_write(b, conn, &m);
    s_op(b, FUZZ_OP_PUMP, conn);
}

static void s_bye(buf_t *b, unsigned conn)
{
    buf_t m = {0};
    bye(&m);
    s_write(b, conn, &m);
}

/* Task descriptor bytes */
#define T_SLOT(a)   ((uint8_t)(a))
#define T_IN        0x00
#define T_OUT       0x08
#define T_INOUT     0x10
#define T_PARTIAL   0x18
#define T_TWO_CORES 0x20
#define T_OPENCL    0x40 /* offers OpenCL too; with T_TWO_CORES, OpenCL only */
#define T_NO_ACCESS 0x80
#define T_PRIO      T_SLOT(7) /* slot 7 tasks have priority 1 */

/* The two configuration bytes that start a session seed. */
static void s_begin_dev(buf_t *b, unsigned cfg, unsigned dev)
{
    put_u8(b, cfg);
    put_u8(b, dev);
}

static void s_begin(buf_t *b, unsigned cfg)
{
    s_begin_dev(b, cfg, 0);
}

static void gen_sessions(void)
{
    buf_t b = {0}, m = {0};

    /* a dependency chain, answered one Done at a time, then a wait for all and Bye */
    s_begin(&b, 0);
    s_hello(&b, 0, "chain");
    s_submit(&b, 0, 12, T_INOUT | T_SLOT(0));
    for (int i = 0; i < 12; i++)
        s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_wait_all(&b, 0, 1);
    s_bye(&b, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "chain", &b);
    buf_free(&b);

    /* a fan-out: one writer, readers in parallel, a final writer; range waits in between */
    s_begin(&b, 0);
    s_hello(&b, 0, "fanout");
    s_submit(&b, 0, 1, T_OUT | T_SLOT(0));
    s_submit(&b, 0, 6, T_IN | T_SLOT(0));
    s_submit(&b, 0, 1, T_INOUT | T_SLOT(0));
    s_submit(&b, 0, 2, T_PARTIAL | T_SLOT(1));
    wait_msg(&m, 5, 0x1000, 64);
    wait_msg(&m, 6, 0x1040, 8);
    s_write(&b, 0, &m);
    s_op1(&b, FUZZ_OP_DONE_ONE, 0, 1);
    s_op1(&b, FUZZ_OP_DONE, 0, 2);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_wait_all(&b, 0, 7);
    save("session", "fanout", &b);
    buf_free(&b);

    /* wide tasks among narrow ones: reservations, backfill; on two cores and on three */
    for (int three = 0; three < 2; three++) {
        s_begin(&b, FUZZ_CFG_RESERVE_AT_ONCE | (three ? FUZZ_CFG_THREE_CORES : 0));
        s_hello(&b, 0, "wide");
        s_submit(&b, 0, 3, T_NO_ACCESS);
        s_submit(&b, 0, 2, T_NO_ACCESS | T_TWO_CORES);
        s_submit(&b, 0, 3, T_NO_ACCESS | T_PRIO);
        s_op1(&b, FUZZ_OP_HELLO, 1, FUZZ_HELLO_JOB(2));
        s_submit(&b, 1, 4, T_TWO_CORES | T_OUT | T_SLOT(5));
        s_op1(&b, FUZZ_OP_DONE, 0, 1);
        s_op1(&b, FUZZ_OP_DONE, 1, 1);
        s_op(&b, FUZZ_OP_DONE_ALL, 0);
        s_wait_all(&b, 0, 1);
        save("session", three ? "wide_three_cores" : "wide", &b);
        buf_free(&b);
    }

    /* many short independent tasks: the measured task time turns lookahead on */
    s_begin(&b, 0);
    s_hello(&b, 0, "short");
    s_submit(&b, 0, 60, T_NO_ACCESS);
    for (int i = 0; i < 30; i++)
        s_op1(&b, FUZZ_OP_DONE, 0, 2);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    save("session", "lookahead", &b);
    buf_free(&b);

    /* a control connection asks for status, while a client runs and after */
    s_begin(&b, 0);
    s_hello(&b, 0, "busy");
    s_submit(&b, 0, 4, T_NO_ACCESS);
    hello(&m, NODUS__V1__ROLE__ROLE_CTL, 1, 1, "", 0);
    status_request(&m);
    s_write(&b, 1, &m);
    s_op(&b, FUZZ_OP_PUMP, 1);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    status_request(&m);
    bye(&m);
    s_write(&b, 1, &m);
    s_op(&b, FUZZ_OP_PUMP, 1);
    save("session", "ctl_status", &b);
    buf_free(&b);

    /* three clients share the cores; one is killed (closed) holding cores */
    s_begin(&b, 0);
    s_hello(&b, 0, "a");
    s_hello(&b, 1, "b");
    s_hello(&b, 2, "c");
    for (unsigned c = 0; c < 3; c++)
        s_submit(&b, c, 10, (uint8_t)(T_INOUT | T_SLOT(c)));
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_op1(&b, FUZZ_OP_DONE, 1, 1);
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op(&b, FUZZ_OP_CLOSE, 1);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_op(&b, FUZZ_OP_DONE_ALL, 2);
    save("session", "three_clients_kill", &b);
    buf_free(&b);

    /* weights: a heavy and a light job, then a new weight */
    s_begin(&b, 0);
    hello(&m, NODUS__V1__ROLE__ROLE_CLIENT, 1, 1, "light", 1);
    s_write(&b, 0, &m);
    hello(&m, NODUS__V1__ROLE__ROLE_CLIENT, 1, 1, "heavy", 3);
    s_write(&b, 1, &m);
    s_submit(&b, 0, 8, T_NO_ACCESS);
    s_submit(&b, 1, 8, T_NO_ACCESS);
    set_weight(&m, 5);
    s_write(&b, 0, &m);
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_op1(&b, FUZZ_OP_DONE, 1, 1);
    s_op(&b, FUZZ_OP_DONE_ALL, 1);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    save("session", "weights", &b);
    buf_free(&b);

    /* end of stream with work outstanding, after a half-close */
    s_begin(&b, 0);
    s_hello(&b, 0, "halfclose");
    s_submit(&b, 0, 5, T_OUT | T_SLOT(2));
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op(&b, FUZZ_OP_SHUT_WR, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "half_close", &b);
    buf_free(&b);

    /* Bye with tasks running */
    s_begin(&b, 0);
    s_hello(&b, 0, "bye");
    s_submit(&b, 0, 4, T_NO_ACCESS);
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_bye(&b, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "bye_running", &b);
    buf_free(&b);

    /* reconnect: the slot's second connection is a new session */
    s_begin(&b, 0);
    s_hello(&b, 0, "first");
    s_submit(&b, 0, 3, T_INOUT);
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op(&b, FUZZ_OP_CLOSE, 0);
    s_hello(&b, 0, "second");
    s_submit(&b, 0, 3, T_INOUT);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    save("session", "reconnect", &b);
    buf_free(&b);

    /* limits: outstanding tasks, sessions per user */
    s_begin(&b, FUZZ_CFG_FEW_OUTSTANDING);
    s_hello(&b, 0, "greedy");
    s_submit(&b, 0, 6, T_NO_ACCESS);
    s_submit(&b, 0, 6, T_NO_ACCESS);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "limit_outstanding", &b);
    buf_free(&b);

    s_begin(&b, FUZZ_CFG_ONE_SESSION_PER_USER);
    s_hello(&b, 0, "one");
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_hello(&b, 1, "two");
    s_op(&b, FUZZ_OP_PUMP, 1);
    s_submit(&b, 0, 2, T_NO_ACCESS);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    save("session", "limit_sessions", &b);
    buf_free(&b);

    /* the harness's own messages: hello ops, waits queued behind running tasks, status, bye */
    s_begin(&b, FUZZ_CFG_TRACE);
    s_op1(&b, FUZZ_OP_HELLO, 0, FUZZ_HELLO_JOB(1) | FUZZ_HELLO_WEIGHT(2));
    s_op1(&b, FUZZ_OP_HELLO, 1, FUZZ_HELLO_CTL);
    s_submit(&b, 0, 6, T_INOUT | T_SLOT(3));
    for (int i = 0; i < 5; i++)
        s_op1(&b, FUZZ_OP_WAIT, 0, FUZZ_WAIT_ALL);
    s_op1(&b, FUZZ_OP_WAIT, 0, 3);
    s_op1(&b, FUZZ_OP_WAIT, 0, 0x18 | 2); /* half a slot over, 96 bytes */
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_op1(&b, FUZZ_OP_WAIT, 0, FUZZ_WAIT_ALL);
    s_op(&b, FUZZ_OP_STATUS, 1);
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_submit(&b, 0, 2, T_INOUT | T_SLOT(3));
    s_op1(&b, FUZZ_OP_WAIT, 0, FUZZ_WAIT_ALL);
    s_op1(&b, FUZZ_OP_SET_WEIGHT, 0, 7);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_op(&b, FUZZ_OP_STATUS, 1);
    s_op(&b, FUZZ_OP_BYE, 1);
    s_op(&b, FUZZ_OP_BYE, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "ops_waits_status", &b);
    buf_free(&b);

    /* a peer that stops reading: output backs up into write requests, then it is dropped
     * (an Error waiting to be written) or closes with replies unread */
    s_begin(&b, FUZZ_CFG_SMALL_BUFFERS);
    s_op1(&b, FUZZ_OP_HELLO, 0, 0);
    s_op1(&b, FUZZ_OP_HELLO, 1, FUZZ_HELLO_CTL);
    s_op(&b, FUZZ_OP_STALL, 1);
    for (int i = 0; i < 40; i++)
        s_op(&b, FUZZ_OP_STATUS, 1);
    s_submit(&b, 0, 40, T_NO_ACCESS);
    s_op(&b, FUZZ_OP_STALL, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op1(&b, FUZZ_OP_SET_WEIGHT, 1, 0); /* a violation on the stalled control connection */
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op(&b, FUZZ_OP_STALL, 0);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_op(&b, FUZZ_OP_STALL, 0);
    s_op(&b, FUZZ_OP_STATUS, 0);
    s_op(&b, FUZZ_OP_CLOSE, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "stalled_reader", &b);
    buf_free(&b);

    /* the daemon stopped (SIGTERM) with clients connected, holding cores, one stalled */
    s_begin(&b, FUZZ_CFG_STOP_WITH_CLIENTS | FUZZ_CFG_SMALL_BUFFERS);
    s_op1(&b, FUZZ_OP_HELLO, 0, FUZZ_HELLO_JOB(0));
    s_op1(&b, FUZZ_OP_HELLO, 1, FUZZ_HELLO_JOB(1));
    s_submit(&b, 0, 4, T_NO_ACCESS | T_TWO_CORES);
    s_submit(&b, 1, 4, T_OUT | T_SLOT(1));
    s_op(&b, FUZZ_OP_STALL, 1);
    for (int i = 0; i < 20; i++)
        s_op(&b, FUZZ_OP_STATUS, 1);
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_op1(&b, FUZZ_OP_WAIT, 0, FUZZ_WAIT_ALL);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "stop_with_clients", &b);
    buf_free(&b);

    /* ---- fake OpenCL devices ---- */

    /* multi-version tasks (CPU or OpenCL) on two devices: a chain and independent ones */
    s_begin_dev(&b, 0, 2);
    s_hello(&b, 0, "ocl");
    s_submit(&b, 0, 8, T_OPENCL | T_INOUT | T_SLOT(1));
    s_submit(&b, 0, 6, T_OPENCL | T_NO_ACCESS);
    s_op1(&b, FUZZ_OP_WAIT, 0, 1);
    s_op1(&b, FUZZ_OP_DONE, 0, 2);
    s_op1(&b, FUZZ_OP_DEVICE_DONE, 0, 0);
    s_op1(&b, FUZZ_OP_DONE, 0, 2);
    s_op(&b, FUZZ_OP_STATUS, 0);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_wait_all(&b, 0, 2);
    save("session", "opencl_multi_version", &b);
    buf_free(&b);

    /* a CPU device holding the last core: OpenCL-only tasks and two-core CPU tasks compete */
    s_begin_dev(&b, FUZZ_CFG_RESERVE_AT_ONCE, 1 | FUZZ_DEV_CPU);
    s_hello(&b, 0, "pocl");
    s_op1(&b, FUZZ_OP_HELLO, 1, FUZZ_HELLO_JOB(2));
    s_submit(&b, 0, 4, T_OPENCL | T_TWO_CORES | T_OUT | T_SLOT(2));
    s_submit(&b, 1, 3, T_TWO_CORES | T_NO_ACCESS);
    s_submit(&b, 1, 3, T_NO_ACCESS);
    s_op1(&b, FUZZ_OP_DONE, 1, 1);
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_op1(&b, FUZZ_OP_DONE, 1, 1);
    s_op1(&b, FUZZ_OP_DEVICE_DONE, 0, 0);
    s_op(&b, FUZZ_OP_STATUS, 1);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_wait_all(&b, 0, 3);
    save("session", "opencl_cpu_device", &b);
    buf_free(&b);

    /* three devices with tight bounds, two clients, one killed with work on a device */
    s_begin_dev(&b, FUZZ_CFG_THREE_CORES, 3 | FUZZ_DEV_TIGHT);
    s_op1(&b, FUZZ_OP_HELLO, 0, FUZZ_HELLO_JOB(0));
    s_op1(&b, FUZZ_OP_HELLO, 1, FUZZ_HELLO_JOB(1));
    s_op1(&b, FUZZ_OP_HELLO, 2, FUZZ_HELLO_JOB(1));
    s_submit(&b, 0, 6, T_OPENCL | T_TWO_CORES | T_NO_ACCESS);
    s_submit(&b, 1, 6, T_OPENCL | T_INOUT | T_SLOT(4));
    s_submit(&b, 2, 4, T_OPENCL | T_IN | T_SLOT(4));
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op1(&b, FUZZ_OP_DONE, 2, 2);
    s_op1(&b, FUZZ_OP_DONE, 0, 2);
    s_op1(&b, FUZZ_OP_DONE, 1, 2);
    s_op(&b, FUZZ_OP_PUMP, 0);
    s_op(&b, FUZZ_OP_CLOSE, 2);
    s_op1(&b, FUZZ_OP_DEVICE_DONE, 0, 1);
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_op(&b, FUZZ_OP_STATUS, 1);
    save("session", "opencl_tight_kill", &b);
    buf_free(&b);

    /* device protocol violations: DeviceDone before Done; for a CPU-granted task; an
     * OpenCL-only task on a daemon without devices */
    s_begin_dev(&b, 0, 1);
    s_hello(&b, 0, "early");
    s_submit(&b, 0, 2, T_OPENCL | T_TWO_CORES | T_NO_ACCESS);
    s_op1(&b, FUZZ_OP_DEVICE_DONE, 0, 0);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "opencl_device_done_early", &b);
    buf_free(&b);

    s_begin_dev(&b, 0, 1);
    s_hello(&b, 0, "cpu");
    s_submit(&b, 0, 1, T_NO_ACCESS);
    s_op1(&b, FUZZ_OP_DONE, 0, 1);
    s_op1(&b, FUZZ_OP_DEVICE_DONE, 0, 0);
    device_done(&m, 1); /* task 1 ran on the CPU */
    s_write(&b, 0, &m);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "opencl_device_done_cpu_task", &b);
    buf_free(&b);

    s_begin(&b, 0);
    s_hello(&b, 0, "nodev");
    s_submit(&b, 0, 1, T_OPENCL | T_TWO_CORES);
    s_op(&b, FUZZ_OP_PUMP, 0);
    save("session", "opencl_without_device", &b);
    buf_free(&b);

    /* ---- an administrator: trace, kill, drain ---- */

    /* a trace recorded around a client's work and sent back in chunks; a session killed */
    s_begin_dev(&b, 0, 1);
    s_op1(&b, FUZZ_OP_HELLO, 2, FUZZ_HELLO_CTL);
    s_op1(&b, FUZZ_OP_ADMIN, 2, FUZZ_ADMIN_TRACE_START(0));
    s_hello(&b, 0, "traced");
    s_hello(&b, 1, "victim");
    s_submit(&b, 0, 6, T_OPENCL | T_INOUT | T_SLOT(2));
    s_submit(&b, 1, 4, T_NO_ACCESS);
    s_op1(&b, FUZZ_OP_DONE, 1, 1);
    s_op1(&b, FUZZ_OP_ADMIN, 2, FUZZ_ADMIN_KILL_CONN(1));
    s_op(&b, FUZZ_OP_DONE_ALL, 0);
    s_op1(&b, FUZZ_OP_ADMIN, 2, FUZZ_ADMIN_TRACE_STOP);
    s_op(&b, FUZZ_OP_PUMP, 2);
    s_op1(&b, FUZZ_OP_ADMIN, 2, FUZZ_ADMIN_TRACE_STOP); /* nothing recording: a CtlReply */
    s_op(&b, FUZZ_OP_PUMP, 2);
    save("session", "admin_trace_kill", &b);
    buf_free(&b);

    /* a drain while a client works: new clients refused, the daemon stops after the last */
    for (int now = 0; now < 2; now++) {
        s_begin_dev(&b, 0, now ? FUZZ_SVC_DRAIN_NOW : 0);
        s_hello(&b, 0, "working");
        s_submit(&b, 0, 5, T_INOUT | T_SLOT(0));
        s_op1(&b, FUZZ_OP_HELLO, 2, FUZZ_HELLO_CTL);
        s_op1(&b, FUZZ_OP_DONE, 0, 1);
        s_op1(&b, FUZZ_OP_ADMIN, 2, FUZZ_ADMIN_DRAIN);
        s_op(&b, FUZZ_OP_PUMP, 2);
        s_hello(&b, 1, "late"); /* refused: draining */
        s_op(&b, FUZZ_OP_PUMP, 1);
        s_op(&b, FUZZ_OP_DONE_ALL, 0);
        s_op(&b, FUZZ_OP_BYE, 0);
        s_op(&b, FUZZ_OP_PUMP, 0);
        save("session", now ? "admin_drain_now" : "admin_drain", &b);
        buf_free(&b);
    }

    /* ---- violations: each must end in Error and a dropped session ---- */
    static const uint64_t id1 = 1, id7 = 7;
    struct {
        const char *name;
        int hello_first;
    } v[] = {
        {"bad_version", 0},          {"zero_version", 0},
        {"submit_before_hello", 0},  {"second_hello", 1},
        {"done_unknown", 1},         {"done_not_running", 1},
        {"id_out_of_sequence", 1},   {"ctl_submit", 0},
        {"client_sends_welcome", 1}, {"client_sends_grants", 1},
        {"device_done", 1},          {"zero_frame", 1},
        {"oversized_frame", 1},      {"garbage", 0},
        {"bad_weight", 1},           {"unknown_body", 1},
        {"truncated_then_close", 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *n = v[i].name;
        s_begin(&b, 0);
        if (v[i].hello_first) client_hello(&m, "bad");
        if (!strcmp(n, "bad_version")) hello(&m, NODUS__V1__ROLE__ROLE_CLIENT, 2, 5, "x", 0);
        if (!strcmp(n, "zero_version")) hello(&m, NODUS__V1__ROLE__ROLE_CLIENT, 0, 0, "x", 0);
        if (!strcmp(n, "submit_before_hello"))
            submit(&m, 1, 1, 0x1000, 8, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 1);
        if (!strcmp(n, "second_hello")) client_hello(&m, "again");
        if (!strcmp(n, "done_unknown")) done(&m, &id7, 1);
        if (!strcmp(n, "done_not_running")) {
            submit(&m, 1, 1, 0x1000, 8, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1);
            submit(&m, 2, 1, 0x1000, 8, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 1);
            uint64_t second = 2;
            done(&m, &second, 1);
        }
        if (!strcmp(n, "id_out_of_sequence"))
            submit(&m, 5, 1, 0x1000, 8, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 1);
        if (!strcmp(n, "ctl_submit")) {
            hello(&m, NODUS__V1__ROLE__ROLE_CTL, 1, 1, "", 0);
            submit(&m, 1, 1, 0x1000, 8, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 1);
        }
        if (!strcmp(n, "client_sends_welcome")) welcome(&m);
        if (!strcmp(n, "client_sends_grants")) grants(&m);
        if (!strcmp(n, "device_done")) {
            submit(&m, 1, 1, 0, 0, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 1);
            device_done(&m, id1);
        }
        if (!strcmp(n, "zero_frame")) put_le32(&m, 0);
        if (!strcmp(n, "oversized_frame")) put_le32(&m, 0xffffffffu);
        if (!strcmp(n, "garbage")) {
            put_le32(&m, 5);
            put(&m, "\x0a\x80\x80\x80\x80", 5);
        }
        if (!strcmp(n, "bad_weight")) set_weight(&m, 0);
        if (!strcmp(n, "unknown_body")) {
            put_le32(&m, 3);
            put(&m, "\xa0\x06\x01", 3); /* field 100, varint 1 */
        }
        if (!strcmp(n, "truncated_then_close")) {
            submit(&m, 1, 1, 0x1000, 8, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 1);
            m.len -= 2;
        }
        s_write(&b, 0, &m);
        s_op(&b, FUZZ_OP_PUMP, 0);
        if (!strcmp(n, "truncated_then_close")) s_op(&b, FUZZ_OP_CLOSE, 0);
        save("session", n, &b);
        buf_free(&b);
    }
    buf_free(&m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    char path[4096];
    const char *sub[] = {"", "/frame", "/session"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", out_dir, sub[i]);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "gen_corpus: cannot create %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    gen_frames();
    gen_sessions();
    printf("gen_corpus: %u seeds in %s\n", nwritten, out_dir);
    return 0;
}
