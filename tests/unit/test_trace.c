/*
 * Unit tests for the trace recorder (daemon/trace_ring.c) and its Chrome / Perfetto JSON export
 * (daemon/trace_json.c): wrap-around, interning, the pairing of grants, Dones, device
 * completions, session closes and dependency edges into slices and flows, timestamps, escaping,
 * and that the text is the same whatever the chunk size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodus_limits.h"
#include "trace_json.h"
#include "trace_ring.h"

#define BASE UINT64_C(5000000000)

static void test_ring_wraps(void **state)
{
    trace_ring_t *r = trace_ring_create(10, BASE); /* raised to the minimum */
    assert_non_null(r);
    assert_int_equal(r->capacity, NODUS_MIN_TRACE_EVENTS);
    for (uint64_t i = 0; i < NODUS_MIN_TRACE_EVENTS + 476; i++) {
        trace_rec_t rec = {.ts_ns = BASE + i, .task = i, .kind = TRACE_GRANT};
        trace_ring_add(r, &rec);
    }
    assert_int_equal(r->count, NODUS_MIN_TRACE_EVENTS);
    assert_int_equal(r->overwritten, 476);
    assert_int_equal(trace_ring_at(r, 0)->task, 476); /* oldest kept */
    assert_int_equal(trace_ring_at(r, r->count - 1)->task, NODUS_MIN_TRACE_EVENTS + 475);
    trace_ring_free(r);
    /* (the upper clamp to NODUS_MAX_TRACE_EVENTS is not exercised: 640 MB) */
    (void)state;
}

static void test_intern(void **state)
{
    trace_ring_t *r = trace_ring_create(0, BASE);
    assert_int_equal(trace_ring_intern(r, NULL), 0);
    assert_int_equal(trace_ring_intern(r, ""), 0);
    uint32_t a = trace_ring_intern(r, "potrf");
    uint32_t b = trace_ring_intern(r, "gemm");
    assert_true(a != 0 && b != 0 && a != b);
    assert_int_equal(trace_ring_intern(r, "potrf"), a);
    assert_string_equal(trace_ring_string(r, a), "potrf");
    assert_string_equal(trace_ring_string(r, 999999), "");
    /* enough strings to rehash several times; every one found again */
    char name[32];
    uint32_t idx[5000];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "label-%d", i);
        idx[i] = trace_ring_intern(r, name);
        assert_true(idx[i] != 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "label-%d", i);
        assert_int_equal(trace_ring_intern(r, name), idx[i]);
        assert_string_equal(trace_ring_string(r, idx[i]), name);
    }
    uint32_t s = trace_ring_session(r, 42, 1000, 77, "job", "client");
    assert_int_equal(s, 0);
    assert_int_equal(r->sessions[s].id, 42);
    assert_string_equal(trace_ring_string(r, r->sessions[s].job), "job");
    trace_ring_free(r);
    (void)state;
}

static void test_json_string(void **state)
{
    char out[256];
    assert_int_equal(trace_json_string(out, "plain"), 7);
    assert_string_equal(out, "\"plain\"");
    trace_json_string(out, "a\"b\\c");
    assert_string_equal(out, "\"a\\\"b\\\\c\"");
    trace_json_string(out, "\x01");
    assert_string_equal(out, "\"\\u0001\"");
    trace_json_string(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* valid UTF-8 kept */
    assert_string_equal(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    trace_json_string(out, "x\xffy");
    assert_string_equal(out, "\"x\\ufffdy\"");
    trace_json_string(out, "\xc0\xaf"); /* overlong '/' */
    assert_string_equal(out, "\"\\ufffd\\ufffd\"");
    trace_json_string(out, "\xed\xa0\x80"); /* a surrogate */
    assert_string_equal(out, "\"\\ufffd\\ufffd\\ufffd\"");
    trace_json_string(out, "\xe2\x82"); /* cut short */
    assert_string_equal(out, "\"\\ufffd\\ufffd\"");
    (void)state;
}

static void add(trace_ring_t *r, trace_kind_t kind, uint64_t at, uint32_t session, uint64_t task,
                uint32_t where, uint32_t label, uint16_t device, uint8_t slot, uint64_t other)
{
    trace_rec_t rec = {.ts_ns = BASE + at,
                       .task = task,
                       .other = other,
                       .session = session,
                       .where = where,
                       .label = label,
                       .device = device,
                       .slot = slot,
                       .kind = (uint8_t)kind};
    trace_ring_add(r, &rec);
}

/* Occurrences of `what` in text, in one pass (strstr in a loop is quadratic under ASan). */
static size_t count(const char *text, const char *what)
{
    size_t n = 0, wl = strlen(what), tl = strlen(text);
    for (size_t i = 0; i + wl <= tl; i++)
        if (text[i] == what[0] && memcmp(text + i, what, wl) == 0) n++;
    return n;
}

/* Strings closed, brackets balanced and matched: enough to catch a broken writer. */
static void assert_json_shape(const char *t)
{
    char stack[64];
    int depth = 0, in_str = 0;
    for (const char *p = t; *p; p++) {
        if (in_str) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_str = 0;
            continue;
        }
        if (*p == '"') in_str = 1;
        if (*p == '{' || *p == '[') {
            assert_true(depth < 64);
            stack[depth++] = *p;
        }
        if (*p == '}' || *p == ']') {
            assert_true(depth > 0);
            assert_int_equal(stack[--depth], *p == '}' ? '{' : '[');
        }
        if (*p == ',') assert_true(p[1] != ']' && p[1] != '}' && p[1] != ',');
    }
    assert_int_equal(depth, 0);
    assert_int_equal(in_str, 0);
}

/* The whole text, read with pieces of at most `chunk` bytes. */
static char *export_all(trace_export_t *e, size_t chunk)
{
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap), *buf = malloc(chunk);
    int done = 0;
    while (!done) {
        size_t n = trace_export_next(e, buf, chunk, &done);
        assert_true(n <= chunk);
        assert_true(n > 0 || done);
        while (len + n + 1 > cap)
            text = realloc(text, cap *= 2);
        memcpy(text + len, buf, n);
        len += n;
    }
    text[len] = '\0';
    free(buf);
    assert_int_equal(strlen(text), len);
    return text;
}

/*
 * Session 1 on cores 0 and 1 (CPUs 4, 7) and device 0: a lookahead grant starts when the head
 * before it is done; a device task's device work runs from its Done to its completion; edges
 * become flows from the predecessor's last slice; a task running at the stop and one whose
 * session closed are cut there.
 */
static trace_ring_t *scenario(void)
{
    trace_ring_t *r = trace_ring_create(0, BASE);
    uint32_t s1 = trace_ring_session(r, 11, 1000, 501, "jobA", "app");
    uint32_t s2 = trace_ring_session(r, 12, 1001, 502, "job\"B", "app");
    uint32_t potrf = trace_ring_intern(r, "potrf"), gemm = trace_ring_intern(r, "gemm");
    uint32_t odd = trace_ring_intern(r, "we\"ird\xff");
    add(r, TRACE_GRANT, 1000, s1, 1, 0, potrf, 0, 0, 0);
    add(r, TRACE_GRANT, 1000, s1, 2, 1, gemm, 1, 2, 0);  /* device 0, slot 2 */
    add(r, TRACE_GRANT, 1500, s1, 3, 0, potrf, 0, 0, 0); /* queued behind task 1 */
    add(r, TRACE_DONE, 2000, s1, 2, 1, 0, 0, 0, 0);
    add(r, TRACE_DONE, 3000, s1, 1, 0, 0, 0, 0, 0);
    add(r, TRACE_EDGE, 3000, s1, 1, 0, 0, 0, 0, 4);
    add(r, TRACE_DONE, 4000, s1, 3, 0, 0, 0, 0, 0);
    add(r, TRACE_GRANT, 4000, s2, 1, 0, odd, 0, 0, 0);
    add(r, TRACE_GRANT, 4100, s2, 2, 0, odd, 0, 0, 0); /* queued; dropped at the close */
    add(r, TRACE_CLOSE, 5000, s2, 0, 0, 0, 0, 0, 0);
    add(r, TRACE_DEVICE, 6000, s1, 2, 0, 0, 0, 2, 0);
    add(r, TRACE_EDGE, 6000, s1, 2, 0, 0, 0, 0, 4);
    add(r, TRACE_EDGE, 6000, s1, 2, 0, 0, 0, 0, 99); /* successor never granted: no flow */
    add(r, TRACE_DONE, 6500, s1, 77, 1, 0, 0, 0, 0); /* its grant was lost: ignored */
    add(r, TRACE_GRANT, 7000, s1, 4, 1, gemm, 0, 0, 0);
    return r;
}

static void test_export(void **state)
{
    const uint32_t cpus[2] = {4, 7};
    const char *devs[1] = {"gpu0"};
    trace_export_t *e = trace_export_create(scenario(), cpus, 2, devs, 1, BASE + 9000);
    assert_non_null(e);
    assert_int_equal(trace_export_core_slices(e), 5);
    assert_int_equal(trace_export_device_slices(e), 1);
    assert_int_equal(trace_export_flows(e), 2);
    char *text = export_all(e, 1 << 20);
    trace_export_free(e);
    assert_json_shape(text);
    assert_true(strncmp(text, "{\"displayTimeUnit\":\"ms\"", 23) == 0);
    assert_non_null(strstr(text, "\"traceEvents\":["));
    assert_int_equal(count(text, "\"ph\":\"X\""), 6);
    assert_int_equal(count(text, "\"ph\":\"s\""), 2);
    assert_int_equal(count(text, "\"ph\":\"f\",\"bp\":\"e\""), 2);
    assert_int_equal(count(text, "\"name\":\"thread_name\""), 3); /* cpu 4, cpu 7, device slot */
    assert_non_null(strstr(text, "\"args\":{\"name\":\"cpu 4\"}"));
    assert_non_null(strstr(text, "\"args\":{\"name\":\"cpu 7\"}"));
    assert_non_null(strstr(text, "\"args\":{\"name\":\"device 0 (gpu0) slot 2\"}"));
    /* task 1: granted at 1 us, done at 3 us */
    assert_non_null(strstr(text,
                           "\"name\":\"potrf\",\"pid\":1,\"tid\":4,\"ts\":1.000,\"dur\":2.000,"
                           "\"args\":{\"session\":11,\"job\":\"jobA\",\"uid\":1000,"
                           "\"task\":1,\"label\":\"potrf\"}}"));
    /* task 3, queued at 1.5 us behind task 1: runs from 3 us to 4 us */
    assert_non_null(strstr(text, "\"tid\":4,\"ts\":3.000,\"dur\":1.000,\"args\":{\"session\":11,"
                                 "\"job\":\"jobA\",\"uid\":1000,\"task\":3,"));
    /* task 2: body on cpu 7 from 1 to 2 us, device work on slot 2 from 2 to 6 us */
    assert_non_null(strstr(text, "\"tid\":7,\"ts\":1.000,\"dur\":1.000,\"args\":{\"session\":11,"
                                 "\"job\":\"jobA\",\"uid\":1000,\"task\":2,"));
    assert_non_null(strstr(text, "{\"ph\":\"X\",\"cat\":\"device\",\"name\":\"gemm\",\"pid\":2,"
                                 "\"tid\":3,\"ts\":2.000,\"dur\":4.000,"));
    /* session 12's head cut at its close, escaped names; its queued task left out */
    assert_non_null(strstr(text, "\"name\":\"we\\\"ird\\ufffd\",\"pid\":1,\"tid\":4,\"ts\":4.000,"
                                 "\"dur\":1.000,\"args\":{\"session\":12,\"job\":\"job\\\"B\","));
    assert_non_null(strstr(text, "\"unfinished\":\"closed\""));
    assert_int_equal(count(text, "\"session\":12"), 1);
    /* task 4 still running at the stop (9 us) */
    assert_non_null(strstr(text, "\"tid\":7,\"ts\":7.000,\"dur\":2.000,"));
    assert_non_null(strstr(text, "\"task\":4,\"label\":\"gemm\",\"unfinished\":\"running\"}"));
    /* flows: 1 -> 4 from the middle of task 1's slice; 2 -> 4 from its device slice */
    assert_non_null(strstr(text, "{\"ph\":\"s\",\"cat\":\"dep\",\"name\":\"dep\",\"id\":1,"
                                 "\"pid\":1,\"tid\":4,\"ts\":2.000}"));
    assert_non_null(strstr(text, "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"dep\",\"name\":\"dep\","
                                 "\"id\":1,\"pid\":1,\"tid\":7,\"ts\":8.000}"));
    assert_non_null(strstr(text, "{\"ph\":\"s\",\"cat\":\"dep\",\"name\":\"dep\",\"id\":2,"
                                 "\"pid\":2,\"tid\":3,\"ts\":4.000}"));
    assert_true(strcmp(text + strlen(text) - 3, "]}\n") == 0);

    /* the same text in the smallest pieces */
    e = trace_export_create(scenario(), cpus, 2, devs, 1, BASE + 9000);
    char *small = export_all(e, TRACE_EXPORT_MIN_BUF);
    trace_export_free(e);
    assert_string_equal(small, text);
    free(small);
    free(text);

    /* a buffer below the minimum gets nothing */
    e = trace_export_create(scenario(), cpus, 2, devs, 1, BASE + 9000);
    char tiny[16];
    int done = 1;
    assert_int_equal(trace_export_next(e, tiny, sizeof tiny, &done), 0);
    assert_int_equal(done, 0);
    trace_export_free(e);
    (void)state;
}

/* An empty trace is still a valid trace; many events span many chunks in order. */
static void test_export_sizes(void **state)
{
    const uint32_t cpus[1] = {0};
    trace_export_t *e = trace_export_create(trace_ring_create(0, BASE), cpus, 1, NULL, 0, BASE);
    char *text = export_all(e, TRACE_EXPORT_MIN_BUF);
    trace_export_free(e);
    assert_json_shape(text);
    assert_int_equal(count(text, "\"ph\":\"X\""), 0);
    free(text);

    trace_ring_t *r = trace_ring_create(100000, BASE);
    uint32_t s = trace_ring_session(r, 1, 0, 1, "j", "c");
    for (uint64_t i = 1; i <= 20000; i++) {
        add(r, TRACE_GRANT, i * 10, s, i, 0, 0, 0, 0, 0);
        add(r, TRACE_DONE, i * 10 + 5, s, i, 0, 0, 0, 0, 0);
        if (i > 1) add(r, TRACE_EDGE, i * 10 + 5, s, i - 1, 0, 0, 0, 0, i);
    }
    e = trace_export_create(r, cpus, 1, NULL, 0, BASE + 1000000);
    assert_int_equal(trace_export_core_slices(e), 20000);
    assert_int_equal(trace_export_flows(e), 19999);
    text = export_all(e, 64 * 1024);
    trace_export_free(e);
    assert_json_shape(text);
    assert_int_equal(count(text, "\"ph\":\"X\""), 20000);
    assert_int_equal(count(text, "\"name\":\"task\""), 20000); /* no label: "task" */
    free(text);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_wraps),   cmocka_unit_test(test_intern),
        cmocka_unit_test(test_json_string),  cmocka_unit_test(test_export),
        cmocka_unit_test(test_export_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
