/*
 * Unit tests for the dependency engine (daemon/deps.c): the conflict rules, segment splitting and
 * merging, edge dedupe, lazy cleanup of completed tasks, scale and allocation failures at
 * every point of deps_add (deps_test_util.h). The randomised comparison with a brute-force oracle
 * is test_deps_oracle.c.
 */
#include "deps_test_util.h"

/* ---- helpers ------------------------------------------------------------------------------ */

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
    };
    return cmocka_run_group_tests_name("deps", tests, NULL, NULL);
}
