/*
 * Unit tests for proto/validate.c: each rule, just inside and just outside its limit.
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
#include "validate.h"

/* Validates m; `expect` NULL means accepted, else rejected with a reason containing it. */
static void check(const Nodus__V1__Msg *m, unsigned ncores, const char *expect)
{
    const char *why = NULL;
    int rc = msg_validate(m, ncores, &why);
    if (!expect) {
        if (rc != 0) fail_msg("rejected: %s", why ? why : "(no reason)");
        return;
    }
    assert_int_equal(rc, NODUS_EPROTO);
    assert_non_null(why);
    if (!strstr(why, expect)) fail_msg("reason \"%s\" lacks \"%s\"", why, expect);
}

/* A string of n copies of c (static storage, reused). */
static char *repeat(char c, size_t n)
{
    static char buf[1024];
    assert_true(n < sizeof buf);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_hello(void **state)
{
    Nodus__V1__Hello h = NODUS__V1__HELLO__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_HELLO;
    m.hello = &h;
    h.min_version = 1;
    h.max_version = 1;
    h.role = NODUS__V1__ROLE__ROLE_CLIENT;
    check(&m, 0, NULL);
    h.role = NODUS__V1__ROLE__ROLE_CTL;
    check(&m, 0, NULL);

    /* version range: non-empty, starting at 1 or later; support is the session's business */
    h.min_version = 0;
    check(&m, 0, "empty version range");
    h.min_version = 2;
    check(&m, 0, "empty version range");
    h.min_version = h.max_version = 7;
    check(&m, 0, NULL);
    h.min_version = h.max_version = 1;

    h.role = NODUS__V1__ROLE__ROLE_UNSPECIFIED;
    check(&m, 0, "unknown role");
    h.role = (Nodus__V1__Role)3;
    check(&m, 0, "unknown role");
    h.role = NODUS__V1__ROLE__ROLE_CLIENT;

    h.job_name = repeat('j', NODUS_MAX_NAME);
    check(&m, 0, NULL);
    h.job_name = repeat('j', NODUS_MAX_NAME + 1);
    check(&m, 0, "name too long");
    h.job_name = "caf\xc3\xa9"; /* UTF-8 is text */
    check(&m, 0, NULL);
    h.job_name = "tab\there";
    check(&m, 0, "not text");
    h.job_name = "";
    h.client_name = "del\x7f";
    check(&m, 0, "not text");
    h.client_name = "line\n";
    check(&m, 0, "not text");
    h.client_name = NULL;
    check(&m, 0, NULL);

    h.weight = NODUS_MAX_WEIGHT;
    check(&m, 0, NULL);
    h.weight = NODUS_MAX_WEIGHT + 1;
    check(&m, 0, "weight out of range");
    h.weight = 0; /* the daemon's default */
    check(&m, 0, NULL);
}

static void test_submit(void **state)
{
    Nodus__V1__Access acc = NODUS__V1__ACCESS__INIT;
    Nodus__V1__Access *accp[NODUS_MAX_ACCESSES_PER_TASK + 1];
    for (size_t i = 0; i <= NODUS_MAX_ACCESSES_PER_TASK; i++)
        accp[i] = &acc;
    acc.addr = 0x1000;
    acc.len = 8;
    acc.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN;
    Nodus__V1__TaskSpec t = NODUS__V1__TASK_SPEC__INIT;
    t.id = 1;
    t.n_accesses = 1;
    t.accesses = accp;
    Nodus__V1__TaskSpec **tasks = calloc(NODUS_MAX_TASKS_PER_SUBMIT + 1, sizeof *tasks);
    assert_non_null(tasks);
    for (size_t i = 0; i <= NODUS_MAX_TASKS_PER_SUBMIT; i++)
        tasks[i] = &t;
    Nodus__V1__Submit s = NODUS__V1__SUBMIT__INIT;
    s.n_tasks = 1;
    s.tasks = tasks;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &s;
    check(&m, 4, NULL);

    /* task counts */
    s.n_tasks = 0;
    check(&m, 4, "empty submit");
    s.n_tasks = NODUS_MAX_TASKS_PER_SUBMIT;
    check(&m, 4, NULL);
    s.n_tasks = NODUS_MAX_TASKS_PER_SUBMIT + 1;
    check(&m, 4, "too many tasks");
    s.n_tasks = 1;

    /* ids */
    t.id = 0;
    check(&m, 4, "task id 0");
    t.id = UINT64_MAX;
    check(&m, 4, NULL);
    t.id = 1;

    /* access modes */
    acc.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT;
    check(&m, 4, NULL);
    acc.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT;
    check(&m, 4, NULL);
    acc.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_UNSPECIFIED;
    check(&m, 4, "unknown mode");
    acc.mode = (Nodus__V1__AccessMode)4;
    check(&m, 4, "unknown mode");
    acc.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN;

    /* ranges: non-empty, ending at or below 2^64 - 1 */
    acc.len = 0;
    check(&m, 4, "zero length");
    acc.addr = 0;
    acc.len = UINT64_MAX;
    check(&m, 4, NULL);
    acc.addr = 1;
    check(&m, 4, "wraps around");
    acc.addr = UINT64_MAX;
    acc.len = 1;
    check(&m, 4, "wraps around");
    acc.addr = UINT64_MAX - 1;
    check(&m, 4, NULL);
    acc.addr = 0x1000;
    acc.len = 8;

    /* access counts; no accesses at all is a valid independent task */
    t.n_accesses = NODUS_MAX_ACCESSES_PER_TASK;
    check(&m, 4, NULL);
    t.n_accesses = NODUS_MAX_ACCESSES_PER_TASK + 1;
    check(&m, 4, "too many accesses");
    t.n_accesses = 0;
    check(&m, 4, NULL);
    t.n_accesses = 1;

    /* core counts: bounded by the daemon's cores, or by NODUS_MAX_CORES when unknown */
    t.ncores = 0;
    check(&m, 4, NULL);
    t.ncores = 4;
    check(&m, 4, NULL);
    t.ncores = 5;
    check(&m, 4, "more cores");
    t.ncores = NODUS_MAX_CORES;
    check(&m, 0, NULL);
    t.ncores = NODUS_MAX_CORES + 1;
    check(&m, 0, "more cores");
    t.ncores = 1;

    /* labels */
    t.label = repeat('l', NODUS_MAX_NAME);
    check(&m, 4, NULL);
    t.label = repeat('l', NODUS_MAX_NAME + 1);
    check(&m, 4, "label too long");
    t.label = "bell\a";
    check(&m, 4, "not text");
    t.label = "";

    /* one bad task anywhere in the batch spoils it */
    Nodus__V1__TaskSpec bad = t;
    bad.id = 0;
    tasks[100] = &bad;
    s.n_tasks = 100;
    check(&m, 4, NULL);
    s.n_tasks = 101;
    check(&m, 4, "task id 0");
    tasks[100] = NULL;
    check(&m, 4, "null task");
    tasks[100] = &t;
    accp[0] = NULL;
    check(&m, 4, "null access");
    accp[0] = &acc;
    free(tasks);
}

static void test_done(void **state)
{
    uint64_t *ids = calloc(NODUS_MAX_DONE_PER_MSG + 1, sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i <= NODUS_MAX_DONE_PER_MSG; i++)
        ids[i] = i + 1;
    Nodus__V1__Done d = NODUS__V1__DONE__INIT;
    d.task_ids = ids;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &d;
    d.n_task_ids = 1;
    check(&m, 0, NULL);
    d.n_task_ids = 0;
    check(&m, 0, "empty done");
    d.n_task_ids = NODUS_MAX_DONE_PER_MSG;
    check(&m, 0, NULL);
    d.n_task_ids = NODUS_MAX_DONE_PER_MSG + 1;
    check(&m, 0, "too many ids");
    d.n_task_ids = 10;
    ids[9] = 0;
    check(&m, 0, "task id 0");
    free(ids);
}

static void test_wait_and_weight(void **state)
{
    Nodus__V1__Wait w = NODUS__V1__WAIT__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WAIT;
    m.wait = &w;
    check(&m, 0, NULL); /* len 0: every task */
    w.addr = UINT64_MAX;
    check(&m, 0, NULL); /* the address is ignored when len is 0 */
    w.len = 1;
    check(&m, 0, "wraps around");
    w.addr = 0x1000;
    w.len = 4096;
    w.token = UINT64_MAX;
    check(&m, 0, NULL);

    Nodus__V1__SetWeight sw = NODUS__V1__SET_WEIGHT__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SET_WEIGHT;
    m.set_weight = &sw;
    sw.weight = 0;
    check(&m, 0, "weight out of range");
    sw.weight = 1;
    check(&m, 0, NULL);
    sw.weight = NODUS_MAX_WEIGHT;
    check(&m, 0, NULL);
    sw.weight = NODUS_MAX_WEIGHT + 1;
    check(&m, 0, "weight out of range");
}

static void test_grants(void **state)
{
    uint32_t cores[NODUS_MAX_CORES + 1] = {0};
    Nodus__V1__Grant g = NODUS__V1__GRANT__INIT;
    g.task_id = 3;
    g.n_cores = 1;
    g.cores = cores;
    Nodus__V1__Grant **gp = calloc(NODUS_MAX_GRANTS_PER_MSG + 1, sizeof *gp);
    assert_non_null(gp);
    for (size_t i = 0; i <= NODUS_MAX_GRANTS_PER_MSG; i++)
        gp[i] = &g;
    Nodus__V1__Grants gs = NODUS__V1__GRANTS__INIT;
    gs.n_grants = 1;
    gs.grants = gp;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_GRANTS;
    m.grants = &gs;
    check(&m, 0, NULL);
    gs.n_grants = 0;
    check(&m, 0, "grant count");
    gs.n_grants = NODUS_MAX_GRANTS_PER_MSG;
    check(&m, 0, NULL);
    gs.n_grants = NODUS_MAX_GRANTS_PER_MSG + 1;
    check(&m, 0, "grant count");
    gs.n_grants = 1;
    g.task_id = 0;
    check(&m, 0, "malformed grant");
    g.task_id = 3;
    g.n_cores = 0;
    check(&m, 0, "malformed grant");
    g.n_cores = NODUS_MAX_CORES;
    check(&m, 0, NULL);
    g.n_cores = NODUS_MAX_CORES + 1;
    check(&m, 0, "malformed grant");
    g.n_cores = 1;
    gp[0] = NULL;
    check(&m, 0, "malformed grant");
    free(gp);
}

static void test_welcome(void **state)
{
    uint32_t cores[NODUS_MAX_CORES + 1] = {0};
    Nodus__V1__Welcome w = NODUS__V1__WELCOME__INIT;
    w.version = NODUS_PROTO_VERSION_MAX;
    w.session_id = 1;
    w.n_cores = 2;
    w.cores = cores;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WELCOME;
    m.welcome = &w;
    check(&m, 0, NULL);
    w.n_cores = 0;
    check(&m, 0, "no cores");
    w.n_cores = NODUS_MAX_CORES;
    check(&m, 0, NULL);
    w.n_cores = NODUS_MAX_CORES + 1;
    check(&m, 0, "no cores");
    w.n_cores = 2;
    w.version = NODUS_PROTO_VERSION_MIN - 1;
    check(&m, 0, "unsupported version");
    w.version = NODUS_PROTO_VERSION_MAX + 1;
    check(&m, 0, "unsupported version");
}

static void test_error_and_empty_bodies(void **state)
{
    Nodus__V1__Error e = NODUS__V1__ERROR__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_ERROR;
    m.error = &e;
    e.code = NODUS_EPERM;
    e.message = repeat('e', NODUS_MAX_ERROR_TEXT);
    check(&m, 0, NULL);
    e.message = repeat('e', NODUS_MAX_ERROR_TEXT + 1);
    check(&m, 0, "error text too long");
    e.message = NULL;
    check(&m, 0, NULL);

    Nodus__V1__WaitDone wd = NODUS__V1__WAIT_DONE__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WAIT_DONE;
    m.wait_done = &wd;
    check(&m, 0, NULL);
    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    m.status_request = &sr;
    check(&m, 0, NULL);
    Nodus__V1__StatusReply rep = NODUS__V1__STATUS_REPLY__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REPLY;
    m.status_reply = &rep;
    check(&m, 0, NULL);
    Nodus__V1__Bye bye = NODUS__V1__BYE__INIT;
    m.body_case = NODUS__V1__MSG__BODY_BYE;
    m.bye = &bye;
    check(&m, 0, NULL);
}

static void test_unknown_and_null(void **state)
{
    check(NULL, 0, "undecodable");
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT; /* no body */
    check(&m, 0, "unknown type");
    m.body_case = (Nodus__V1__Msg__BodyCase)99;
    check(&m, 0, "unknown type");

    /* from the wire: field 50 (a body this version does not know), empty, then an access with
     * mode 7: both decode, neither validates */
    const uint8_t future[] = {0x92, 0x03, 0x00};
    Nodus__V1__Msg *o = frame_decode(future, sizeof future);
    assert_non_null(o);
    check(o, 0, "unknown type");
    assert_string_equal(msg_body_name(o), "unknown");
    nodus__v1__msg__free_unpacked(o, NULL);

    Nodus__V1__Access acc = NODUS__V1__ACCESS__INIT, *accp = &acc;
    acc.addr = 16;
    acc.len = 16;
    acc.mode = (Nodus__V1__AccessMode)7;
    Nodus__V1__TaskSpec t = NODUS__V1__TASK_SPEC__INIT, *tp = &t;
    t.id = 1;
    t.n_accesses = 1;
    t.accesses = &accp;
    Nodus__V1__Submit s = NODUS__V1__SUBMIT__INIT;
    s.n_tasks = 1;
    s.tasks = &tp;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &s;
    uint8_t buf[128];
    size_t n = nodus__v1__msg__pack(&m, buf);
    o = frame_decode(buf, n);
    assert_non_null(o); /* proto3 enums are open: the unknown value arrives as is */
    assert_int_equal(o->submit->tasks[0]->accesses[0]->mode, 7);
    check(o, 0, "unknown mode");
    nodus__v1__msg__free_unpacked(o, NULL);
}

static void test_admin_messages(void **state)
{
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    Nodus__V1__DrainRequest dr = NODUS__V1__DRAIN_REQUEST__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DRAIN_REQUEST;
    m.drain_request = &dr;
    check(&m, 0, NULL);
    Nodus__V1__TraceStop ts = NODUS__V1__TRACE_STOP__INIT;
    m.body_case = NODUS__V1__MSG__BODY_TRACE_STOP;
    m.trace_stop = &ts;
    check(&m, 0, NULL);

    Nodus__V1__KillRequest k = NODUS__V1__KILL_REQUEST__INIT;
    m.body_case = NODUS__V1__MSG__BODY_KILL_REQUEST;
    m.kill_request = &k;
    check(&m, 0, "kill of session 0");
    k.session_id = 1;
    check(&m, 0, NULL);

    Nodus__V1__TraceStart st = NODUS__V1__TRACE_START__INIT;
    m.body_case = NODUS__V1__MSG__BODY_TRACE_START;
    m.trace_start = &st;
    check(&m, 0, NULL); /* 0: the configured capacity */
    st.capacity_events = NODUS_MAX_TRACE_EVENTS;
    check(&m, 0, NULL);
    st.capacity_events = NODUS_MAX_TRACE_EVENTS + 1;
    check(&m, 0, "trace capacity out of range");

    static uint8_t data[NODUS_MAX_TRACE_CHUNK + 1];
    Nodus__V1__TraceChunk tc = NODUS__V1__TRACE_CHUNK__INIT;
    m.body_case = NODUS__V1__MSG__BODY_TRACE_CHUNK;
    m.trace_chunk = &tc;
    tc.last = 1;
    check(&m, 0, NULL); /* an empty last chunk */
    tc.data.data = data;
    tc.data.len = NODUS_MAX_TRACE_CHUNK;
    check(&m, 0, NULL);
    tc.data.len = NODUS_MAX_TRACE_CHUNK + 1;
    check(&m, 0, "trace chunk too large");

    Nodus__V1__CtlReply r = NODUS__V1__CTL_REPLY__INIT;
    m.body_case = NODUS__V1__MSG__BODY_CTL_REPLY;
    m.ctl_reply = &r;
    check(&m, 0, NULL);
    r.code = NODUS_EPERM;
    r.message = repeat('r', NODUS_MAX_ERROR_TEXT);
    check(&m, 0, NULL);
    r.message = repeat('r', NODUS_MAX_ERROR_TEXT + 1);
    check(&m, 0, "ctl reply text too long");
    r.message = NULL;
    r.code = 1;
    check(&m, 0, "positive code");

    Nodus__V1__StatusReply rep = NODUS__V1__STATUS_REPLY__INIT;
    Nodus__V1__DaemonSettings set = NODUS__V1__DAEMON_SETTINGS__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REPLY;
    m.status_reply = &rep;
    rep.settings = &set;
    set.log_level = 7;
    set.admin_group = "nodus";
    check(&m, 0, NULL);
    set.log_level = 8;
    check(&m, 0, "log level");
    set.log_level = 6;
    set.admin_group = "bad\ngroup";
    check(&m, 0, "admin group");
}

static void test_body_names(void **state)
{
    static const struct {
        Nodus__V1__Msg__BodyCase body;
        const char *name;
    } names[] = {
        {NODUS__V1__MSG__BODY_HELLO, "hello"},
        {NODUS__V1__MSG__BODY_WELCOME, "welcome"},
        {NODUS__V1__MSG__BODY_SUBMIT, "submit"},
        {NODUS__V1__MSG__BODY_GRANTS, "grants"},
        {NODUS__V1__MSG__BODY_DONE, "done"},
        {NODUS__V1__MSG__BODY_WAIT, "wait"},
        {NODUS__V1__MSG__BODY_WAIT_DONE, "wait_done"},
        {NODUS__V1__MSG__BODY_SET_WEIGHT, "set_weight"},
        {NODUS__V1__MSG__BODY_STATUS_REQUEST, "status_request"},
        {NODUS__V1__MSG__BODY_STATUS_REPLY, "status_reply"},
        {NODUS__V1__MSG__BODY_ERROR, "error"},
        {NODUS__V1__MSG__BODY_BYE, "bye"},
        {NODUS__V1__MSG__BODY_DRAIN_REQUEST, "drain_request"},
        {NODUS__V1__MSG__BODY_KILL_REQUEST, "kill_request"},
        {NODUS__V1__MSG__BODY_TRACE_START, "trace_start"},
        {NODUS__V1__MSG__BODY_TRACE_STOP, "trace_stop"},
        {NODUS__V1__MSG__BODY_TRACE_CHUNK, "trace_chunk"},
        {NODUS__V1__MSG__BODY_CTL_REPLY, "ctl_reply"},
        {NODUS__V1__MSG__BODY__NOT_SET, "unknown"},
    };
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        m.body_case = names[i].body;
        assert_string_equal(msg_body_name(&m), names[i].name);
    }
    assert_string_equal(msg_body_name(NULL), "(none)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_submit),
        cmocka_unit_test(test_done),
        cmocka_unit_test(test_wait_and_weight),
        cmocka_unit_test(test_grants),
        cmocka_unit_test(test_welcome),
        cmocka_unit_test(test_error_and_empty_bodies),
        cmocka_unit_test(test_unknown_and_null),
        cmocka_unit_test(test_admin_messages),
        cmocka_unit_test(test_body_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
