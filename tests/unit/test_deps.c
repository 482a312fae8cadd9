/*
 * Unit tests for the dependency engine (daemon/deps.c): the conflict rules, segment splitting and
 * merging, edge dedupe, lazy cleanup of completed tasks, scale, a randomised comparison with a
 * brute-force oracle, and allocation failures at every point of deps_add.
 *
 * deps.c is compiled into this file with malloc/calloc/realloc redirected to wrappers that can be
 * told to fail, so ENOMEM paths are exercised deterministically. The symbols defined here take
 * precedence over the copy in nodus_core, which the linker then leaves out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nodus.h"
#include "task.h"

/* Allocations left before the next one fails; negative: never fail. */
static long alloc_budget = -1;
static unsigned long alloc_failures;

static bool alloc_fail_now(void)
{
    if (alloc_budget < 0 || alloc_budget-- > 0) return false;
    alloc_failures++; /* the budget is now -1: one failure per arming */
    return true;
}

static void *fail_malloc(size_t n)
{
    return alloc_fail_now() ? NULL : malloc(n);
}

static void *fail_calloc(size_t n, size_t size)
{
    return alloc_fail_now() ? NULL : calloc(n, size);
}

static void *fail_realloc(void *p, size_t n)
{
    return alloc_fail_now() ? NULL : realloc(p, n);
}

#define malloc(n)     fail_malloc(n)
#define calloc(n, s)  fail_calloc(n, s)
#define realloc(p, n) fail_realloc(p, n)
#include "deps.c"
#undef malloc
#undef calloc
#undef realloc

/* ---- helpers ------------------------------------------------------------------------------ */

/* The order in which on_ready handed out tasks. */
typedef struct ready_log {
    task_t **v;
    size_t n, cap;
} ready_log_t;

static void log_ready(task_t *t, void *ctx)
{
    ready_log_t *log = ctx;
    assert_int_equal(t->state, TASK_READY);
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 64;
        log->v = realloc(log->v, log->cap * sizeof *log->v);
        assert_non_null(log->v);
    }
    log->v[log->n++] = t;
}

typedef struct fixture {
    deps_t *d;
    ready_log_t log;
    task_t *tasks[64]; /* tasks made by mk(), unreferenced in teardown */
    size_t ntasks;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->d = deps_create(log_ready, &f->log);
    assert_non_null(f->d);
    *state = f;
    return 0;
}

/* Destroys the engine, checks it released every reference, then drops the test's own. */
static int teardown(void **state)
{
    fixture_t *f = *state;
    deps_destroy(f->d);
    for (size_t i = 0; i < f->ntasks; i++) {
        assert_int_equal(f->tasks[i]->refs, 1);
        task_unref(f->tasks[i]);
    }
    free(f->log.v);
    free(f);
    return 0;
}

/* Adds a task with the given accesses (addr, len, mode triples) and returns it. */
static task_t *mk(fixture_t *f, size_t nacc, ...)
{
    deps_access_t acc[8];
    assert_true(nacc <= 8 && f->ntasks < 64);
    va_list ap;
    va_start(ap, nacc);
    for (size_t i = 0; i < nacc; i++) {
        acc[i].addr = va_arg(ap, uint64_t);
        acc[i].len = va_arg(ap, uint64_t);
        acc[i].mode = (deps_mode_t)va_arg(ap, int);
    }
    va_end(ap);
    task_t *t = task_create(f->ntasks + 1, NULL);
    assert_non_null(t);
    f->tasks[f->ntasks++] = t;
    assert_int_equal(deps_add(f->d, t, acc, nacc), 0);
    return t;
}

#define A(addr, len, mode) (uint64_t)(addr), (uint64_t)(len), (int)(mode)

static bool is_ready(const task_t *t)
{
    return t->state == TASK_READY;
}

/* Completes `t` and returns how many tasks it released (appended to the log). */
static size_t done(fixture_t *f, task_t *t)
{
    size_t before = f->log.n;
    assert_true(t->state == TASK_READY || t->state == TASK_RUNNING);
    deps_complete(f->d, t);
    assert_int_equal(t->state, TASK_DONE);
    assert_int_equal(t->nsucc, 0);
    return f->log.n - before;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- conflict rules ----------------------------------------------------------------------- */

static void test_raw(void **state)
{
    fixture_t *f = *state;
    task_t *w = mk(f, 1, A(0, 100, DEPS_OUT));
    task_t *r = mk(f, 1, A(50, 10, DEPS_IN));
    assert_true(is_ready(w));
    assert_false(is_ready(r));
    assert_int_equal(r->npreds, 1);
    assert_int_equal(done(f, w), 1);
    assert_ptr_equal(f->log.v[f->log.n - 1], r);
}

static void test_war(void **state)
{
    fixture_t *f = *state;
    task_t *r = mk(f, 1, A(0, 10, DEPS_IN));
    task_t *w = mk(f, 1, A(0, 10, DEPS_OUT));
    assert_true(is_ready(r));
    assert_false(is_ready(w));
    assert_int_equal(done(f, r), 1);
    assert_true(is_ready(w));
}

static void test_waw(void **state)
{
    fixture_t *f = *state;
    task_t *w1 = mk(f, 1, A(0, 10, DEPS_OUT));
    task_t *w2 = mk(f, 1, A(5, 10, DEPS_INOUT));
    task_t *w3 = mk(f, 1, A(0, 20, DEPS_OUT));
    assert_true(is_ready(w1));
    assert_false(is_ready(w2));
    assert_false(is_ready(w3));
    assert_int_equal(done(f, w1), 1);
    assert_true(is_ready(w2));
    assert_false(is_ready(w3));
    assert_int_equal(done(f, w2), 1);
    assert_true(is_ready(w3));
}

static void test_in_in_independent(void **state)
{
    fixture_t *f = *state;
    task_t *a = mk(f, 1, A(0, 100, DEPS_IN));
    task_t *b = mk(f, 1, A(50, 100, DEPS_IN));
    task_t *c = mk(f, 1, A(0, 1000, DEPS_IN));
    assert_true(is_ready(a) && is_ready(b) && is_ready(c));
    assert_int_equal(f->log.n, 3);
    assert_int_equal(a->nsucc + b->nsucc + c->nsucc, 0);
}

static void test_readers_released_together(void **state)
{
    fixture_t *f = *state;
    task_t *w = mk(f, 1, A(0, 64, DEPS_OUT));
    task_t *r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = mk(f, 1, A(0, 64, DEPS_IN));
        assert_int_equal(r[i]->npreds, 1);
    }
    assert_int_equal(f->log.n, 1);
    assert_int_equal(done(f, w), 5);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(f->log.v[1 + i], r[i]); /* program order */
}

static void test_writer_after_readers(void **state)
{
    fixture_t *f = *state;
    task_t *w0 = mk(f, 1, A(0, 64, DEPS_OUT));
    task_t *r[5];
    for (int i = 0; i < 5; i++)
        r[i] = mk(f, 1, A(0, 64, DEPS_IN));
    task_t *w1 = mk(f, 1, A(0, 64, DEPS_OUT));
    assert_int_equal(done(f, w0), 5);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(done(f, r[i]), 0);
        assert_false(is_ready(w1));
    }
    assert_int_equal(done(f, r[4]), 1);
    assert_true(is_ready(w1));
}

static void test_wait_task(void **state)
{
    fixture_t *f = *state;
    task_t *w = mk(f, 1, A(0, 64, DEPS_OUT));
    task_t *r = mk(f, 1, A(0, 32, DEPS_IN));
    task_t *wait = task_create(0, NULL);
    assert_non_null(wait);
    wait->kind = TASK_KIND_WAIT;
    f->tasks[f->ntasks++] = wait;
    deps_access_t acc = {.addr = 0, .len = 64, .mode = DEPS_INOUT};
    assert_int_equal(deps_add(f->d, wait, &acc, 1), 0);
    task_t *after = mk(f, 1, A(16, 8, DEPS_IN));
    assert_int_equal(done(f, w), 1); /* r */
    assert_false(is_ready(wait));
    assert_int_equal(done(f, r), 1);
    assert_true(is_ready(wait));
    assert_false(is_ready(after));
    assert_int_equal(done(f, wait), 1);
    assert_true(is_ready(after));
}

/* ---- geometry ----------------------------------------------------------------------------- */

static void test_partial_overlaps(void **state)
{
    fixture_t *f = *state;
    task_t *a = mk(f, 1, A(10, 10, DEPS_OUT));     /* [10,20) */
    task_t *left = mk(f, 1, A(5, 10, DEPS_IN));    /* [5,15): overlaps a's start */
    task_t *right = mk(f, 1, A(15, 10, DEPS_IN));  /* [15,25): overlaps a's end */
    task_t *below = mk(f, 1, A(0, 10, DEPS_IN));   /* [0,10): touches, no overlap */
    task_t *above = mk(f, 1, A(20, 10, DEPS_IN));  /* [20,30): touches, no overlap */
    task_t *w = mk(f, 1, A(14, 2, DEPS_OUT));      /* [14,16): after a, left and right */
    task_t *edge = mk(f, 1, A(19, 1, DEPS_INOUT)); /* last byte of a, read by right */
    assert_false(is_ready(left));
    assert_false(is_ready(right));
    assert_true(is_ready(below));
    assert_true(is_ready(above));
    assert_int_equal(w->npreds, 3);
    assert_int_equal(edge->npreds, 2);
    assert_int_equal(done(f, a), 2);
    assert_ptr_equal(f->log.v[f->log.n - 2], left);
    assert_ptr_equal(f->log.v[f->log.n - 1], right);
    assert_int_equal(done(f, left), 0);
    assert_int_equal(done(f, right), 2);
    assert_true(is_ready(w) && is_ready(edge));
}

static void test_containment(void **state)
{
    fixture_t *f = *state;
    task_t *a = mk(f, 1, A(0, 100, DEPS_OUT));
    task_t *inner = mk(f, 1, A(40, 20, DEPS_OUT));
    task_t *outer = mk(f, 1, A(0, 100, DEPS_IN));
    assert_int_equal(inner->npreds, 1);
    assert_int_equal(outer->npreds, 2);
    assert_int_equal(deps_segments(f->d), 3);
    assert_int_equal(done(f, a), 1);
    assert_true(is_ready(inner));
    assert_false(is_ready(outer));
    assert_int_equal(done(f, inner), 1);
    assert_true(is_ready(outer));
}

static void test_span_segments_and_gaps(void **state)
{
    fixture_t *f = *state;
    task_t *w1 = mk(f, 1, A(0, 10, DEPS_OUT));
    task_t *w2 = mk(f, 1, A(20, 10, DEPS_OUT));
    task_t *w3 = mk(f, 1, A(40, 10, DEPS_OUT));
    assert_int_equal(deps_segments(f->d), 3);
    task_t *r = mk(f, 1, A(5, 40, DEPS_IN)); /* [5,45): three writers and two gaps */
    assert_int_equal(r->npreds, 3);
    task_t *gap = mk(f, 1, A(12, 6, DEPS_OUT)); /* inside a former gap that r read */
    assert_int_equal(gap->npreds, 1);
    task_t *cover = mk(f, 1, A(0, 60, DEPS_OUT));
    assert_int_equal(cover->npreds, 5); /* w1, w2, w3, r, gap */
    assert_int_equal(deps_segments(f->d), 1);
    assert_int_equal(done(f, w3), 0);
    assert_int_equal(done(f, w1), 0);
    assert_int_equal(done(f, w2), 1);
    assert_true(is_ready(r));
    assert_int_equal(done(f, r), 1);
    assert_true(is_ready(gap));
    assert_int_equal(done(f, gap), 1);
    assert_true(is_ready(cover));
}

static void test_intra_task_merge(void **state)
{
    fixture_t *f = *state;
    /* [0,5) IN, [5,10) INOUT, [10,15) OUT, duplicates included */
    task_t *t = mk(f, 3, A(0, 10, DEPS_IN), A(5, 10, DEPS_OUT), A(0, 10, DEPS_IN));
    assert_true(is_ready(t));
    assert_int_equal(t->npreds, 0);
    task_t *r0 = mk(f, 1, A(0, 5, DEPS_IN));
    task_t *r1 = mk(f, 1, A(9, 1, DEPS_IN));
    task_t *r2 = mk(f, 1, A(10, 5, DEPS_IN));
    task_t *w0 = mk(f, 1, A(4, 1, DEPS_OUT));
    assert_true(is_ready(r0));
    assert_false(is_ready(r1));
    assert_false(is_ready(r2));
    assert_int_equal(w0->npreds, 2); /* t (read byte 4) and r0 */

    /* The same range read and written by one task is one INOUT access, not a self-edge. */
    task_t *rw = mk(f, 2, A(100, 10, DEPS_IN), A(100, 10, DEPS_OUT));
    assert_true(is_ready(rw));
    task_t *after = mk(f, 1, A(105, 1, DEPS_IN));
    assert_int_equal(after->npreds, 1);
    assert_int_equal(done(f, t), 2);
    assert_int_equal(done(f, rw), 1);
}

static void test_edge_dedupe(void **state)
{
    fixture_t *f = *state;
    /* Three segments held by a in three different states. */
    task_t *a = mk(f, 3, A(0, 10, DEPS_OUT), A(10, 10, DEPS_IN), A(20, 10, DEPS_OUT));
    assert_int_equal(deps_segments(f->d), 3);
    task_t *c = mk(f, 1, A(0, 30, DEPS_OUT));
    assert_int_equal(c->npreds, 1);
    assert_int_equal(a->nsucc, 1);
    /* Three separate segments written by b, read across them and the gaps. */
    task_t *b = mk(f, 3, A(100, 10, DEPS_OUT), A(120, 10, DEPS_OUT), A(140, 10, DEPS_OUT));
    task_t *r = mk(f, 1, A(100, 50, DEPS_IN));
    assert_int_equal(r->npreds, 1);
    assert_int_equal(b->nsucc, 1);
    assert_int_equal(done(f, a), 1);
    assert_int_equal(done(f, b), 1);
    assert_true(is_ready(c) && is_ready(r));
}

static void test_complete_out_of_order(void **state)
{
    fixture_t *f = *state;
    task_t *a = mk(f, 1, A(0, 8, DEPS_OUT));
    task_t *b = mk(f, 1, A(8, 8, DEPS_OUT));
    task_t *c = mk(f, 2, A(0, 8, DEPS_IN), A(8, 8, DEPS_IN));
    task_t *d = mk(f, 1, A(8, 8, DEPS_IN));
    assert_int_equal(c->npreds, 2);
    assert_int_equal(done(f, b), 1);
    assert_ptr_equal(f->log.v[f->log.n - 1], d);
    assert_false(is_ready(c));
    assert_int_equal(done(f, a), 1);
    assert_true(is_ready(c));
}

static void test_no_edges_to_done(void **state)
{
    fixture_t *f = *state;
    task_t *a = mk(f, 1, A(0, 8, DEPS_OUT));
    task_t *r = mk(f, 1, A(0, 8, DEPS_IN));
    assert_int_equal(done(f, a), 1);
    assert_int_equal(done(f, r), 0);
    task_t *b = mk(f, 1, A(0, 8, DEPS_IN));
    task_t *w = mk(f, 1, A(0, 16, DEPS_OUT)); /* only b is live */
    assert_true(is_ready(b));
    assert_int_equal(b->npreds, 0);
    assert_int_equal(a->nsucc, 0);
    assert_int_equal(r->nsucc, 0);
    assert_int_equal(w->npreds, 1);
    /* Completed tasks are forgotten when their segment is rewritten. */
    assert_int_equal(a->refs, 1);
    assert_int_equal(r->refs, 1);
}

static void test_edge_of_address_space(void **state)
{
    fixture_t *f = *state;
    task_t *top = mk(f, 1, A(UINT64_MAX - 10, 10, DEPS_OUT)); /* ends at UINT64_MAX */
    task_t *zero = mk(f, 1, A(0, 1, DEPS_OUT));
    task_t *r = mk(f, 2, A(UINT64_MAX - 1, 1, DEPS_IN), A(0, 1, DEPS_IN));
    assert_true(is_ready(top) && is_ready(zero));
    assert_int_equal(r->npreds, 2);
    assert_int_equal(done(f, top), 0);
    assert_int_equal(done(f, zero), 1);
}

static void test_invalid(void **state)
{
    fixture_t *f = *state;
    task_t *w = mk(f, 1, A(0, 8, DEPS_OUT));
    size_t segs = deps_segments(f->d);
    task_t *t = task_create(99, NULL);
    assert_non_null(t);
    const deps_access_t bad[] = {
        {.addr = 0, .len = 0, .mode = DEPS_IN},
        {.addr = UINT64_MAX - 9, .len = 10, .mode = DEPS_IN},
        {.addr = 1, .len = UINT64_MAX, .mode = DEPS_IN},
        {.addr = 0, .len = 8, .mode = (deps_mode_t)0},
        {.addr = 0, .len = 8, .mode = (deps_mode_t)4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const deps_access_t two[2] = {{.addr = 0, .len = 8, .mode = DEPS_IN}, bad[i]};
        assert_int_equal(deps_add(f->d, t, &bad[i], 1), NODUS_EINVAL);
        assert_int_equal(deps_add(f->d, t, two, 2), NODUS_EINVAL);
    }
    assert_int_equal(deps_add(f->d, t, NULL, 1), NODUS_EINVAL);
    assert_int_equal(deps_add(f->d, NULL, bad, 0), NODUS_EINVAL);
    assert_int_equal(deps_add(NULL, t, bad, 0), NODUS_EINVAL);
    assert_int_equal(t->state, TASK_WAITING);
    assert_int_equal(t->npreds, 0);
    assert_int_equal(w->nsucc, 0);
    assert_int_equal(deps_segments(f->d), segs);

    /* No accesses: nothing to wait for. */
    assert_int_equal(deps_add(f->d, t, NULL, 0), 0);
    assert_true(is_ready(t));
    /* A task already known to the engine is refused. */
    assert_int_equal(deps_add(f->d, t, NULL, 0), NODUS_EINVAL);

    /* Completing a task that still waits would strand its predecessors' edges: ignored. */
    task_t *r = mk(f, 1, A(0, 8, DEPS_IN));
    size_t logged = f->log.n;
    deps_complete(f->d, r);
    assert_int_equal(r->state, TASK_WAITING);
    assert_int_equal(f->log.n, logged);
    assert_int_equal(done(f, w), 1);
    task_unref(t);
}

static void test_destroy_with_live_tasks(void **state)
{
    fixture_t *f = *state;
    mk(f, 1, A(0, 100, DEPS_OUT));
    for (int i = 0; i < 12; i++)
        mk(f, 1, A(i * 7, 20, DEPS_IN));
    mk(f, 2, A(30, 10, DEPS_INOUT), A(200, 10, DEPS_OUT));
    mk(f, 1, A(0, 300, DEPS_IN));
    assert_true(deps_segments(f->d) > 3);
    /* teardown destroys the engine with everything live and checks every refs == 1 */
}

/* ---- allocation failure ------------------------------------------------------------------- */

static bool has_succ(const task_t *p, const task_t *s)
{
    for (uint32_t i = 0; i < p->nsucc; i++)
        if (p->succ[i] == s) return true;
    return false;
}

/* Fails deps_add at every allocation in turn: each failure leaves no trace, then it succeeds. */
static void test_enomem_every_point(void **state)
{
    fixture_t *f = *state;
    task_t *w = mk(f, 3, A(0, 30, DEPS_OUT), A(100, 10, DEPS_OUT), A(200, 50, DEPS_IN));
    task_t *r[6];
    for (int i = 0; i < 6; i++)
        r[i] = mk(f, 1, A(i * 5, 7, DEPS_IN));
    size_t segs = deps_segments(f->d);
    size_t logged = f->log.n;

    const deps_access_t acc[] = {
        {.addr = 2, .len = 20, .mode = DEPS_OUT},   {.addr = 15, .len = 20, .mode = DEPS_IN},
        {.addr = 90, .len = 40, .mode = DEPS_IN},   {.addr = 205, .len = 5, .mode = DEPS_OUT},
        {.addr = 400, .len = 10, .mode = DEPS_OUT},
    };
    task_t *t = task_create(100, NULL);
    assert_non_null(t);
    int rc;
    long point = 0;
    for (;; point++) {
        alloc_budget = point;
        rc = deps_add(f->d, t, acc, sizeof acc / sizeof acc[0]);
        alloc_budget = -1;
        if (rc == 0) break;
        assert_int_equal(rc, NODUS_ENOMEM);
        assert_int_equal(t->state, TASK_WAITING);
        assert_int_equal(t->npreds, 0);
        assert_int_equal(t->refs, 1);
        assert_int_equal(deps_segments(f->d), segs);
        assert_int_equal(f->log.n, logged);
        assert_false(has_succ(w, t));
        for (int i = 0; i < 6; i++)
            assert_false(has_succ(r[i], t));
    }
    assert_true(point >= 5); /* pieces, events, splits, gaps, predecessor and reader arrays */
    assert_int_equal(t->npreds, 6); /* w and r0..r4; r5 reads only bytes t reads too */
    assert_int_equal(done(f, w), 6);
    for (int i = 0; i < 5; i++)
        assert_int_equal(done(f, r[i]), i == 4 ? 1 : 0);
    assert_true(is_ready(t));
    deps_complete(f->d, t);
    task_unref(t);
}

/* ---- scale -------------------------------------------------------------------------------- */

static void test_chain_100k(void **state)
{
    enum { N = 100000 };
    ready_log_t log = {0};
    deps_t *d = deps_create(log_ready, &log);
    assert_non_null(d);
    task_t **t = calloc(N, sizeof *t);
    assert_non_null(t);
    const deps_access_t acc = {.addr = 0x10000, .len = 4096, .mode = DEPS_INOUT};

    double t0 = now_s();
    for (size_t i = 0; i < N; i++) {
        t[i] = task_create(i + 1, NULL);
        assert_non_null(t[i]);
        assert_int_equal(deps_add(d, t[i], &acc, 1), 0);
        assert_int_equal(t[i]->npreds, i == 0 ? 0 : 1);
    }
    double t1 = now_s();
    assert_int_equal(deps_segments(d), 1);
    assert_int_equal(log.n, 1);
    for (size_t i = 0; i < N; i++) {
        assert_ptr_equal(log.v[i], t[i]);
        assert_int_equal(log.n, i + 1);
        deps_complete(d, t[i]);
        assert_int_equal(log.n, i + 1 < N ? i + 2 : N);
    }
    double t2 = now_s();
    print_message("chain of %d INOUT tasks: add %.1f ms (%.0f ns/task), complete %.1f ms\n", N,
                  (t1 - t0) * 1e3, (t1 - t0) * 1e9 / N, (t2 - t1) * 1e3);
    assert_int_equal(deps_segments(d), 1);
    deps_destroy(d);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(t[i]->refs, 1);
        task_unref(t[i]);
    }
    free(t);
    free(log.v);
}

/* A range read by a long run of tasks, each done before the next, keeps only a few of them. */
static void test_reader_prune(void **state)
{
    enum { N = 100000 };
    ready_log_t log = {0};
    deps_t *d = deps_create(log_ready, &log);
    assert_non_null(d);
    const deps_access_t rd = {.addr = 0, .len = 64, .mode = DEPS_IN};
    task_t *first = NULL, *middle = NULL;
    for (size_t i = 0; i < N; i++) {
        task_t *r = task_create(i + 1, NULL);
        assert_non_null(r);
        assert_int_equal(deps_add(d, r, &rd, 1), 0);
        assert_int_equal(r->state, TASK_READY);
        deps_complete(d, r);
        if (i == 0)
            first = r;
        else if (i == N / 2)
            middle = r;
        else
            task_unref(r); /* the session's reference goes once the task is done */
    }
    assert_int_equal(first->refs, 1);
    assert_int_equal(middle->refs, 1);
    assert_int_equal(deps_segments(d), 1);
    /* A writer now waits for no one: all readers are done. */
    task_t *w = task_create(N + 1, NULL);
    const deps_access_t wr = {.addr = 0, .len = 64, .mode = DEPS_OUT};
    assert_int_equal(deps_add(d, w, &wr, 1), 0);
    assert_int_equal(w->state, TASK_READY);
    deps_destroy(d);
    task_unref(first);
    task_unref(middle);
    assert_int_equal(w->refs, 1);
    task_unref(w);
    free(log.v);
}

static void test_independent_10k(void **state)
{
    enum { N = 10000 };
    ready_log_t log = {0};
    deps_t *d = deps_create(log_ready, &log);
    assert_non_null(d);
    task_t **t = calloc(N, sizeof *t);
    assert_non_null(t);

    double t0 = now_s();
    for (size_t i = 0; i < N; i++) {
        const deps_access_t acc = {.addr = 0x100000 + i * 64, .len = 64, .mode = DEPS_OUT};
        t[i] = task_create(i + 1, NULL);
        assert_non_null(t[i]);
        assert_int_equal(deps_add(d, t[i], &acc, 1), 0);
    }
    double t1 = now_s();
    assert_int_equal(log.n, N);
    assert_true(deps_segments(d) <= N);

    task_t *w = task_create(N + 1, NULL);
    assert_non_null(w);
    const deps_access_t all = {.addr = 0x100000, .len = N * 64, .mode = DEPS_OUT};
    double t2 = now_s();
    assert_int_equal(deps_add(d, w, &all, 1), 0);
    double t3 = now_s();
    assert_int_equal(w->npreds, N);
    assert_int_equal(deps_segments(d), 1);
    for (size_t i = N; i-- > 0;) {
        assert_int_equal(w->state, TASK_WAITING);
        deps_complete(d, t[i]);
    }
    double t4 = now_s();
    assert_int_equal(w->state, TASK_READY);
    assert_int_equal(log.n, N + 1);
    assert_ptr_equal(log.v[N], w);
    print_message("%d independent ranges: add %.1f ms, writer over all %.2f ms, "
                  "complete %.1f ms\n",
                  N, (t1 - t0) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3);
    deps_destroy(d);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(t[i]->refs, 1);
        task_unref(t[i]);
    }
    task_unref(w);
    free(t);
    free(log.v);
}

/* ---- randomised comparison with a brute-force oracle -------------------------------------- */

enum { ORACLE_TASKS = 2000, ORACLE_MAX_WORDS = 64 };

typedef struct oracle_task {
    task_t *t;
    uint64_t rd[ORACLE_MAX_WORDS], wr[ORACLE_MAX_WORDS]; /* bytes read / written */
    uint32_t pending;                                    /* earlier conflicting, not done */
    bool done;
} oracle_task_t;

static uint64_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static bool oracle_conflict(const oracle_task_t *a, const oracle_task_t *b, size_t words)
{
    for (size_t i = 0; i < words; i++)
        if ((a->wr[i] & (b->rd[i] | b->wr[i])) | (a->rd[i] & b->wr[i])) return true;
    return false;
}

/* The tasks the engine released since `from`, checked against the oracle's expectation. */
static void oracle_check_released(oracle_task_t *o, const ready_log_t *log, size_t from,
                                  const bool *expect, size_t nadded)
{
    size_t nexpect = 0;
    for (size_t j = 0; j < nadded; j++)
        nexpect += expect[j];
    assert_int_equal(log->n - from, nexpect);
    for (size_t k = from; k < log->n; k++) {
        size_t j = (size_t)log->v[k]->id - 1;
        assert_true(j < nadded && expect[j]);
        assert_int_equal(o[j].pending, 0);
    }
}

/*
 * Random tasks over a small address space, interleaving adds (some with an injected allocation
 * failure first) and completions of random ready tasks. A task must become ready exactly when
 * every earlier task with a conflicting access on a shared byte has completed.
 */
static void oracle_run(uint64_t seed, uint32_t space, uint32_t max_len, uint32_t base_shift)
{
    const size_t words = (space + 63) / 64;
    assert_true(words <= ORACLE_MAX_WORDS);
    const uint64_t base = (uint64_t)1 << base_shift;
    rng_state = seed;
    oracle_task_t *o = calloc(ORACLE_TASKS, sizeof *o);
    bool *expect = calloc(ORACLE_TASKS, sizeof *expect);
    size_t *ready = calloc(ORACLE_TASKS, sizeof *ready);
    assert_true(o && expect && ready);
    ready_log_t log = {0};
    deps_t *d = deps_create(log_ready, &log);
    assert_non_null(d);
    size_t nadded = 0, nready = 0, ndone = 0, seen = 0;
    unsigned long failures_before = alloc_failures;

    while (ndone < ORACLE_TASKS) {
        memset(expect, 0, ORACLE_TASKS * sizeof *expect);
        size_t from = log.n;
        if (nadded < ORACLE_TASKS && (nready == 0 || rng() % 3 != 0)) {
            size_t j = nadded++;
            deps_access_t acc[4];
            size_t nacc = rng() % 50 == 0 ? 0 : 1 + rng() % 4;
            for (size_t k = 0; k < nacc; k++) {
                uint32_t addr = rng() % space;
                uint32_t len = 1 + rng() % (max_len < space - addr ? max_len : space - addr);
                acc[k] = (deps_access_t){base + addr, len, (deps_mode_t)(1 + rng() % 3)};
                for (uint32_t b = addr; b < addr + len; b++) {
                    if (acc[k].mode & DEPS_IN) o[j].rd[b / 64] |= (uint64_t)1 << (b % 64);
                    if (acc[k].mode & DEPS_OUT) o[j].wr[b / 64] |= (uint64_t)1 << (b % 64);
                }
            }
            for (size_t i = 0; i < j; i++)
                o[j].pending += !o[i].done && oracle_conflict(&o[i], &o[j], words);
            o[j].t = task_create(j + 1, NULL);
            assert_non_null(o[j].t);
            if (rng() % 4 == 0) {
                alloc_budget = rng() % 6;
                int rc = deps_add(d, o[j].t, acc, nacc);
                alloc_budget = -1;
                if (rc != 0) {
                    assert_int_equal(rc, NODUS_ENOMEM);
                    assert_int_equal(o[j].t->state, TASK_WAITING);
                    assert_int_equal(o[j].t->npreds, 0);
                    assert_int_equal(log.n, from);
                    for (size_t i = 0; i < j; i++)
                        assert_false(has_succ(o[i].t, o[j].t));
                }
            }
            if (o[j].t->state == TASK_WAITING && o[j].t->npreds == 0)
                assert_int_equal(deps_add(d, o[j].t, acc, nacc), 0);
            expect[j] = o[j].pending == 0;
            oracle_check_released(o, &log, from, expect, nadded);
        } else {
            size_t k = rng() % nready;
            size_t i = ready[k];
            ready[k] = ready[--nready];
            o[i].done = true;
            ndone++;
            for (size_t j = i + 1; j < nadded; j++) {
                if (o[j].done || !oracle_conflict(&o[i], &o[j], words)) continue;
                assert_true(o[j].pending > 0);
                expect[j] = --o[j].pending == 0;
            }
            deps_complete(d, o[i].t);
            oracle_check_released(o, &log, from, expect, nadded);
        }
        for (; seen < log.n; seen++)
            ready[nready++] = (size_t)log.v[seen]->id - 1;
    }
    assert_int_equal(log.n, ORACLE_TASKS);
    assert_true(alloc_failures > failures_before); /* the failure paths did run */
    assert_true(deps_segments(d) <= space);        /* segments are disjoint, >= 1 byte */
    deps_destroy(d);
    for (size_t j = 0; j < ORACLE_TASKS; j++) {
        assert_int_equal(o[j].t->refs, 1);
        task_unref(o[j].t);
    }
    free(log.v);
    free(ready);
    free(expect);
    free(o);
}

/* Small spaces make long conflict chains; the large one has partial overlaps of long ranges. */
static void test_oracle(void **state)
{
    oracle_run(0x9e3779b97f4a7c15ull, 64, 16, 12);
    oracle_run(0x243f6a8885a308d3ull, 512, 64, 40);
    oracle_run(0xb7e151628aed2a6bull, 4096, 700, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_war, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_in_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_released_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_after_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_task, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_overlaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_segments_and_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intra_task_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_edges_to_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_of_address_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_live_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enomem_every_point, setup, teardown),
        cmocka_unit_test(test_chain_100k),
        cmocka_unit_test(test_reader_prune),
        cmocka_unit_test(test_independent_10k),
        cmocka_unit_test(test_oracle),
    };
    return cmocka_run_group_tests_name("deps", tests, NULL, NULL);
}
