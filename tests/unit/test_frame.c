/*
 * Unit tests for proto/frame.c: every message type through encode, frame, read and decode;
 * frame boundaries however the bytes arrive; bad lengths; buffer management.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "nodus.h"
#include "nodus_limits.h"

/* Frames `m`, reads it back through a reader and decodes it; caller frees the result. */
static Nodus__V1__Msg *round_trip(const Nodus__V1__Msg *m)
{
    frame_buf_t b;
    frame_reader_t r;
    const uint8_t *payload;
    size_t len;

    frame_buf_init(&b);
    frame_reader_init(&r, NODUS_MAX_FRAME);
    assert_int_equal(frame_buf_append(&b, m, NODUS_MAX_FRAME), 0);
    assert_int_equal(b.len, NODUS_FRAME_HEADER + nodus__v1__msg__get_packed_size(m));
    assert_int_equal(frame_reader_feed(&r, b.data, b.len), 0);
    assert_int_equal(frame_reader_next(&r, &payload, &len), 1);
    assert_int_equal(len, b.len - NODUS_FRAME_HEADER);
    Nodus__V1__Msg *out = frame_decode(payload, len);
    assert_non_null(out);
    assert_int_equal(out->body_case, m->body_case);
    assert_int_equal(frame_reader_next(&r, &payload, &len), 0); /* nothing left */
    frame_reader_free(&r);
    frame_buf_free(&b);
    return out;
}

static void test_hello_welcome(void **state)
{
    Nodus__V1__Hello h = NODUS__V1__HELLO__INIT;
    h.min_version = 1;
    h.max_version = 3;
    h.role = NODUS__V1__ROLE__ROLE_CLIENT;
    h.job_name = "hpccg";
    h.weight = 4;
    h.client_name = "hpccg-main";
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_HELLO;
    m.hello = &h;
    Nodus__V1__Msg *o = round_trip(&m);
    assert_int_equal(o->hello->min_version, 1);
    assert_int_equal(o->hello->max_version, 3);
    assert_int_equal(o->hello->role, NODUS__V1__ROLE__ROLE_CLIENT);
    assert_string_equal(o->hello->job_name, "hpccg");
    assert_int_equal(o->hello->weight, 4);
    assert_string_equal(o->hello->client_name, "hpccg-main");
    nodus__v1__msg__free_unpacked(o, NULL);

    uint32_t cores[] = {0, 1, 2, 7};
    Nodus__V1__Welcome w = NODUS__V1__WELCOME__INIT;
    w.version = 1;
    w.session_id = UINT64_MAX;
    w.n_cores = 4;
    w.cores = cores;
    w.weight = 2;
    w.max_frame = NODUS_MAX_FRAME;
    w.max_tasks_per_submit = NODUS_MAX_TASKS_PER_SUBMIT;
    m.body_case = NODUS__V1__MSG__BODY_WELCOME;
    m.welcome = &w;
    o = round_trip(&m);
    assert_int_equal(o->welcome->version, 1);
    assert_int_equal(o->welcome->session_id, UINT64_MAX);
    assert_int_equal(o->welcome->n_cores, 4);
    assert_memory_equal(o->welcome->cores, cores, sizeof cores);
    assert_int_equal(o->welcome->weight, 2);
    assert_int_equal(o->welcome->max_frame, NODUS_MAX_FRAME);
    assert_int_equal(o->welcome->max_tasks_per_submit, NODUS_MAX_TASKS_PER_SUBMIT);
    nodus__v1__msg__free_unpacked(o, NULL);
}

static void test_submit(void **state)
{
    Nodus__V1__Access a[3] = {NODUS__V1__ACCESS__INIT, NODUS__V1__ACCESS__INIT,
                              NODUS__V1__ACCESS__INIT};
    Nodus__V1__Access *ap[3] = {&a[0], &a[1], &a[2]};
    a[0].addr = 0x7fff00001000;
    a[0].len = 4096;
    a[0].mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN;
    a[1].addr = 8;
    a[1].len = UINT64_MAX - 8;
    a[1].mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT;
    a[2].addr = 0;
    a[2].len = 1;
    a[2].mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT;
    Nodus__V1__TaskSpec t[2] = {NODUS__V1__TASK_SPEC__INIT, NODUS__V1__TASK_SPEC__INIT};
    Nodus__V1__TaskSpec *tp[2] = {&t[0], &t[1]};
    t[0].id = 1;
    t[0].n_accesses = 3;
    t[0].accesses = ap;
    t[0].priority = -5;
    t[0].ncores = 2;
    t[0].label = "gemm";
    t[1].id = 2; /* no accesses, defaults */
    Nodus__V1__Submit s = NODUS__V1__SUBMIT__INIT;
    s.n_tasks = 2;
    s.tasks = tp;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &s;

    Nodus__V1__Msg *o = round_trip(&m);
    assert_int_equal(o->submit->n_tasks, 2);
    const Nodus__V1__TaskSpec *t0 = o->submit->tasks[0], *t1 = o->submit->tasks[1];
    assert_int_equal(t0->id, 1);
    assert_int_equal(t0->priority, -5);
    assert_int_equal(t0->ncores, 2);
    assert_string_equal(t0->label, "gemm");
    assert_int_equal(t0->n_accesses, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(t0->accesses[i]->addr, a[i].addr);
        assert_int_equal(t0->accesses[i]->len, a[i].len);
        assert_int_equal(t0->accesses[i]->mode, a[i].mode);
    }
    assert_int_equal(t1->id, 2);
    assert_int_equal(t1->n_accesses, 0);
    assert_int_equal(t1->priority, 0);
    assert_int_equal(t1->ncores, 0);
    assert_string_equal(t1->label, "");
    nodus__v1__msg__free_unpacked(o, NULL);
}

static void test_grants_done(void **state)
{
    uint32_t c0[] = {3}, c1[] = {4, 5, 6};
    Nodus__V1__Grant g[2] = {NODUS__V1__GRANT__INIT, NODUS__V1__GRANT__INIT};
    Nodus__V1__Grant *gp[2] = {&g[0], &g[1]};
    g[0].task_id = 10;
    g[0].n_cores = 1;
    g[0].cores = c0;
    g[1].task_id = 11;
    g[1].n_cores = 3;
    g[1].cores = c1;
    Nodus__V1__Grants gs = NODUS__V1__GRANTS__INIT;
    gs.n_grants = 2;
    gs.grants = gp;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_GRANTS;
    m.grants = &gs;
    Nodus__V1__Msg *o = round_trip(&m);
    assert_int_equal(o->grants->n_grants, 2);
    assert_int_equal(o->grants->grants[0]->task_id, 10);
    assert_int_equal(o->grants->grants[0]->n_cores, 1);
    assert_int_equal(o->grants->grants[0]->cores[0], 3);
    assert_int_equal(o->grants->grants[1]->task_id, 11);
    assert_int_equal(o->grants->grants[1]->n_cores, 3);
    assert_memory_equal(o->grants->grants[1]->cores, c1, sizeof c1);
    nodus__v1__msg__free_unpacked(o, NULL);

    uint64_t ids[] = {1, 2, 1ull << 40};
    Nodus__V1__Done d = NODUS__V1__DONE__INIT;
    d.n_task_ids = 3;
    d.task_ids = ids;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &d;
    o = round_trip(&m);
    assert_int_equal(o->done->n_task_ids, 3);
    assert_memory_equal(o->done->task_ids, ids, sizeof ids);
    nodus__v1__msg__free_unpacked(o, NULL);
}

static void test_wait_weight_error_bye(void **state)
{
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT, *o;

    Nodus__V1__Wait w = NODUS__V1__WAIT__INIT;
    w.token = 99;
    w.addr = 0x1000;
    w.len = 64;
    m.body_case = NODUS__V1__MSG__BODY_WAIT;
    m.wait = &w;
    o = round_trip(&m);
    assert_int_equal(o->wait->token, 99);
    assert_int_equal(o->wait->addr, 0x1000);
    assert_int_equal(o->wait->len, 64);
    nodus__v1__msg__free_unpacked(o, NULL);

    Nodus__V1__WaitDone wd = NODUS__V1__WAIT_DONE__INIT;
    wd.token = 99;
    m.body_case = NODUS__V1__MSG__BODY_WAIT_DONE;
    m.wait_done = &wd;
    o = round_trip(&m);
    assert_int_equal(o->wait_done->token, 99);
    nodus__v1__msg__free_unpacked(o, NULL);

    Nodus__V1__SetWeight sw = NODUS__V1__SET_WEIGHT__INIT;
    sw.weight = 7;
    m.body_case = NODUS__V1__MSG__BODY_SET_WEIGHT;
    m.set_weight = &sw;
    o = round_trip(&m);
    assert_int_equal(o->set_weight->weight, 7);
    nodus__v1__msg__free_unpacked(o, NULL);

    Nodus__V1__Error e = NODUS__V1__ERROR__INIT;
    e.code = NODUS_EVERSION;
    e.message = "no common protocol version";
    m.body_case = NODUS__V1__MSG__BODY_ERROR;
    m.error = &e;
    o = round_trip(&m);
    assert_int_equal(o->error->code, NODUS_EVERSION);
    assert_string_equal(o->error->message, "no common protocol version");
    nodus__v1__msg__free_unpacked(o, NULL);

    /* empty bodies still make a non-empty frame */
    Nodus__V1__Bye bye = NODUS__V1__BYE__INIT;
    m.body_case = NODUS__V1__MSG__BODY_BYE;
    m.bye = &bye;
    o = round_trip(&m);
    assert_non_null(o->bye);
    nodus__v1__msg__free_unpacked(o, NULL);

    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    m.status_request = &sr;
    o = round_trip(&m);
    assert_non_null(o->status_request);
    nodus__v1__msg__free_unpacked(o, NULL);
}

static void test_status_reply(void **state)
{
    Nodus__V1__CoreStatus cs[2] = {NODUS__V1__CORE_STATUS__INIT, NODUS__V1__CORE_STATUS__INIT};
    Nodus__V1__CoreStatus *csp[2] = {&cs[0], &cs[1]};
    cs[0].cpu = 0;
    cs[0].busy = 1;
    cs[0].session_id = 5;
    cs[0].task_id = 17;
    cs[0].label = "spmv";
    cs[0].last_session_id = 5;
    cs[1].cpu = 1;
    cs[1].last_session_id = 4;
    Nodus__V1__SessionStatus ss = NODUS__V1__SESSION_STATUS__INIT;
    Nodus__V1__SessionStatus *ssp[1] = {&ss};
    ss.session_id = 5;
    ss.uid = 1000;
    ss.pid = 4242;
    ss.job_name = "gpt2";
    ss.client_name = "train_gpt2";
    ss.weight = 2;
    ss.submitted = 100;
    ss.ready = 3;
    ss.running = 1;
    ss.done = 90;
    ss.core_ns = 123456789;
    ss.role = NODUS__V1__ROLE__ROLE_CLIENT;
    ss.waiting = 6;
    Nodus__V1__DaemonCounters dc = NODUS__V1__DAEMON_COUNTERS__INIT;
    dc.uptime_ns = 5000000000ull;
    dc.sessions_total = 9;
    dc.bytes_out = 1ull << 33;
    Nodus__V1__StatusReply sr = NODUS__V1__STATUS_REPLY__INIT;
    sr.pid = 77;
    sr.version = "0.1.0";
    sr.n_cores = 2;
    sr.cores = csp;
    sr.n_sessions = 1;
    sr.sessions = ssp;
    sr.counters = &dc;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REPLY;
    m.status_reply = &sr;

    Nodus__V1__Msg *o = round_trip(&m);
    const Nodus__V1__StatusReply *r = o->status_reply;
    assert_int_equal(r->pid, 77);
    assert_string_equal(r->version, "0.1.0");
    assert_int_equal(r->n_cores, 2);
    assert_true(r->cores[0]->busy);
    assert_int_equal(r->cores[0]->session_id, 5);
    assert_int_equal(r->cores[0]->task_id, 17);
    assert_string_equal(r->cores[0]->label, "spmv");
    assert_false(r->cores[1]->busy);
    assert_int_equal(r->cores[1]->cpu, 1);
    assert_int_equal(r->cores[1]->last_session_id, 4);
    assert_int_equal(r->n_sessions, 1);
    const Nodus__V1__SessionStatus *s = r->sessions[0];
    assert_int_equal(s->session_id, 5);
    assert_int_equal(s->uid, 1000);
    assert_int_equal(s->pid, 4242);
    assert_string_equal(s->job_name, "gpt2");
    assert_string_equal(s->client_name, "train_gpt2");
    assert_int_equal(s->weight, 2);
    assert_int_equal(s->submitted, 100);
    assert_int_equal(s->waiting, 6);
    assert_int_equal(s->ready, 3);
    assert_int_equal(s->running, 1);
    assert_int_equal(s->done, 90);
    assert_int_equal(s->core_ns, 123456789);
    assert_int_equal(s->role, NODUS__V1__ROLE__ROLE_CLIENT);
    assert_non_null(r->counters);
    assert_int_equal(r->counters->uptime_ns, 5000000000ull);
    assert_int_equal(r->counters->sessions_total, 9);
    assert_int_equal(r->counters->bytes_out, 1ull << 33);
    nodus__v1__msg__free_unpacked(o, NULL);
}

/* A Done message carrying `id` (distinct sizes for distinct ids). */
static void append_done(frame_buf_t *b, uint64_t id, size_t nids)
{
    uint64_t *ids = calloc(nids, sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < nids; i++)
        ids[i] = id + i;
    Nodus__V1__Done d = NODUS__V1__DONE__INIT;
    d.n_task_ids = nids;
    d.task_ids = ids;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &d;
    assert_int_equal(frame_buf_append(b, &m, NODUS_MAX_FRAME), 0);
    free(ids);
}

/* Decodes a payload and checks it is the Done that append_done(id, nids) made. */
static void check_done(const uint8_t *payload, size_t len, uint64_t id, size_t nids)
{
    Nodus__V1__Msg *o = frame_decode(payload, len);
    assert_non_null(o);
    assert_int_equal(o->body_case, NODUS__V1__MSG__BODY_DONE);
    assert_int_equal(o->done->n_task_ids, nids);
    for (size_t i = 0; i < nids; i++)
        assert_int_equal(o->done->task_ids[i], id + i);
    nodus__v1__msg__free_unpacked(o, NULL);
}

static void test_many_frames_one_buffer(void **state)
{
    frame_buf_t b;
    frame_reader_t r;
    const uint8_t *p;
    size_t len;
    frame_buf_init(&b);
    frame_reader_init(&r, NODUS_MAX_FRAME);
    for (uint64_t i = 1; i <= 500; i++)
        append_done(&b, i * 1000, 1 + i % 7);
    assert_int_equal(frame_reader_feed(&r, b.data, b.len), 0);
    for (uint64_t i = 1; i <= 500; i++) {
        assert_int_equal(frame_reader_next(&r, &p, &len), 1);
        check_done(p, len, i * 1000, 1 + i % 7);
    }
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);
    assert_int_equal(r.len, 0);
    frame_reader_free(&r);
    frame_buf_free(&b);
}

static void test_byte_by_byte(void **state)
{
    frame_buf_t b;
    frame_reader_t r;
    const uint8_t *p;
    size_t len;
    frame_buf_init(&b);
    frame_reader_init(&r, NODUS_MAX_FRAME);
    for (uint64_t i = 1; i <= 20; i++)
        append_done(&b, i, i);
    uint64_t next = 1;
    for (size_t off = 0; off < b.len; off++) {
        assert_int_equal(frame_reader_feed(&r, b.data + off, 1), 0);
        int rc = frame_reader_next(&r, &p, &len);
        assert_true(rc == 0 || rc == 1);
        if (rc == 1) {
            check_done(p, len, next, next);
            next++;
        }
    }
    assert_int_equal(next, 21);
    frame_reader_free(&r);
    frame_buf_free(&b);
}

static void test_bad_lengths(void **state)
{
    frame_reader_t r;
    const uint8_t *p;
    size_t len;

    /* zero length */
    frame_reader_init(&r, 1024);
    uint8_t zero[4] = {0, 0, 0, 0};
    assert_int_equal(frame_reader_feed(&r, zero, 4), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), NODUS_EPROTO);
    frame_reader_free(&r);

    /* one byte over the reader's limit; the limit itself is fine */
    frame_reader_init(&r, 1024);
    uint8_t over[4] = {0x01, 0x04, 0, 0}; /* 1025, little endian */
    assert_int_equal(frame_reader_feed(&r, over, 4), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), NODUS_EPROTO);
    frame_reader_free(&r);
    frame_reader_init(&r, 1024);
    uint8_t at[4] = {0x00, 0x04, 0, 0}; /* 1024 */
    assert_int_equal(frame_reader_feed(&r, at, 4), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 0); /* waits for the payload */
    frame_reader_free(&r);

    /* a huge length is refused from the header alone, before any payload arrives */
    frame_reader_init(&r, NODUS_MAX_FRAME);
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(frame_reader_feed(&r, huge, 4), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), NODUS_EPROTO);
    frame_reader_free(&r);

    /* a writer refuses to produce an oversized frame, and an empty Msg */
    frame_buf_t b;
    frame_buf_init(&b);
    uint64_t ids[64];
    for (int i = 0; i < 64; i++)
        ids[i] = 1000000 + (uint64_t)i;
    Nodus__V1__Done d = NODUS__V1__DONE__INIT;
    d.n_task_ids = 64;
    d.task_ids = ids;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &d;
    assert_int_equal(frame_buf_append(&b, &m, 100), NODUS_ELIMIT);
    assert_int_equal(b.len, 0);
    Nodus__V1__Msg empty = NODUS__V1__MSG__INIT;
    assert_int_equal(frame_buf_append(&b, &empty, NODUS_MAX_FRAME), NODUS_EINVAL);
    assert_int_equal(b.len, 0);
    frame_buf_free(&b);

    /* a payload that is not a Msg does not decode */
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    assert_null(frame_decode(junk, sizeof junk));
}

static void test_truncated_waits(void **state)
{
    frame_buf_t b;
    frame_reader_t r;
    const uint8_t *p;
    size_t len;
    frame_buf_init(&b);
    frame_reader_init(&r, NODUS_MAX_FRAME);
    append_done(&b, 5, 10);
    /* header only partly there, then header without payload, then all but the last byte */
    assert_int_equal(frame_reader_feed(&r, b.data, 2), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);
    assert_int_equal(frame_reader_feed(&r, b.data + 2, 2), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);
    assert_int_equal(frame_reader_feed(&r, b.data + 4, b.len - 5), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 0); /* asking again changes nothing */
    assert_int_equal(frame_reader_feed(&r, b.data + b.len - 1, 1), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    check_done(p, len, 5, 10);
    frame_reader_free(&r);
    frame_buf_free(&b);
}

static void test_buf_consume(void **state)
{
    frame_buf_t b, one;
    frame_buf_init(&b);
    frame_buf_init(&one);
    append_done(&one, 1, 1);
    append_done(&b, 1, 1);
    append_done(&b, 2, 3);
    size_t first = one.len, total = b.len;

    /* a partial write of 3 bytes, then the rest of the first frame */
    frame_buf_consume(&b, 3);
    assert_int_equal(b.len, total - 3);
    assert_memory_equal(b.data, one.data + 3, first - 3);
    frame_buf_consume(&b, first - 3);
    assert_int_equal(b.len, total - first);

    frame_reader_t r;
    const uint8_t *p;
    size_t len;
    frame_reader_init(&r, NODUS_MAX_FRAME);
    assert_int_equal(frame_reader_feed(&r, b.data, b.len), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    check_done(p, len, 2, 3);
    frame_reader_free(&r);

    /* consuming everything, or more, empties the buffer; it stays usable */
    frame_buf_consume(&b, b.len + 100);
    assert_int_equal(b.len, 0);
    frame_buf_consume(&b, 0);
    assert_int_equal(b.len, 0);
    append_done(&b, 1, 1);
    assert_int_equal(b.len, first);
    assert_memory_equal(b.data, one.data, first);
    frame_buf_free(&b);
    frame_buf_free(&one);
}

/*
 * The read path the daemon and library use: space/commit in uneven chunks (as read() returns
 * them), frames of very different sizes, the buffer compacting and growing underneath. Every
 * payload must come out whole and valid until the next reader call.
 */
static void test_reader_compaction(void **state)
{
    frame_buf_t b;
    frame_reader_t r;
    const uint8_t *p;
    size_t len;
    frame_buf_init(&b);
    frame_reader_init(&r, NODUS_MAX_FRAME);
    const uint64_t nframes = 3000;
    for (uint64_t i = 1; i <= nframes; i++)
        append_done(&b, i << 20, (i % 50 == 0) ? 3000 : 1 + i % 13); /* some 20+ KiB frames */

    size_t off = 0, chunk = 1;
    uint64_t next = 1;
    uint8_t *copy = malloc(NODUS_MAX_FRAME);
    assert_non_null(copy);
    while (off < b.len) {
        uint8_t *space;
        size_t avail;
        chunk = chunk * 7 % 9001 + 1; /* 1 .. 9001 bytes, uneven */
        assert_int_equal(frame_reader_space(&r, chunk, &space, &avail), 0);
        assert_true(avail >= chunk);
        size_t n = b.len - off < chunk ? b.len - off : chunk;
        memcpy(space, b.data + off, n);
        frame_reader_commit(&r, n);
        off += n;
        int rc;
        while ((rc = frame_reader_next(&r, &p, &len)) == 1) {
            memcpy(copy, p, len);
            size_t nids = (next % 50 == 0) ? 3000 : 1 + next % 13;
            check_done(p, len, next << 20, nids);
            assert_memory_equal(p, copy, len); /* decoding did not disturb it */
            next++;
        }
        assert_int_equal(rc, 0);
        assert_true(r.start + r.len <= r.cap);
    }
    assert_int_equal(next, nframes + 1);
    assert_int_equal(r.len, 0);
    /* the buffer stayed near the largest frame plus one chunk, not the whole stream */
    assert_true(r.cap < b.len / 4);
    free(copy);
    frame_reader_free(&r);
    frame_buf_free(&b);
}

static void test_reader_space_empty(void **state)
{
    frame_reader_t r;
    uint8_t *space = NULL;
    size_t avail = 0;
    frame_reader_init(&r, 64);
    assert_int_equal(frame_reader_space(&r, 0, &space, &avail), 0);
    assert_non_null(space);
    frame_reader_free(&r);
    assert_null(r.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_welcome),     cmocka_unit_test(test_submit),
        cmocka_unit_test(test_grants_done),       cmocka_unit_test(test_wait_weight_error_bye),
        cmocka_unit_test(test_status_reply),      cmocka_unit_test(test_many_frames_one_buffer),
        cmocka_unit_test(test_byte_by_byte),      cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_truncated_waits),   cmocka_unit_test(test_buf_consume),
        cmocka_unit_test(test_reader_compaction), cmocka_unit_test(test_reader_space_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
