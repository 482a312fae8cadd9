/*
 * Unit tests for daemon/cuda_tracker.c with a stand-in for the two driver calls it makes
 * (cuEventQuery, cuCtxSetCurrent): completions reach the loop thread through the async handle,
 * failed queries complete, a forgotten session's events are no longer touched, the polling period
 * backs off while nothing completes and comes back on new work, and the handle closes cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <uv.h>

#include "cuda_tracker.h"
#include "log.h"

typedef struct fake_event {
    atomic_int ready;
    atomic_int fail;
    atomic_int queries;
} fake_event_t;

static _Atomic(cu_context_t) current_ctx;
static atomic_int wrong_ctx; /* a query made while another event's context was current */

static cu_result_t fake_query(cu_event_t e)
{
    fake_event_t *f = (fake_event_t *)e;
    atomic_fetch_add(&f->queries, 1);
    if ((void *)atomic_load(&current_ctx) != (void *)((char *)f + 1))
        atomic_fetch_add(&wrong_ctx, 1);
    if (atomic_load(&f->fail)) return 999;
    return atomic_load(&f->ready) ? CU_SUCCESS : CU_ERROR_NOT_READY;
}

static cu_result_t fake_set_current(cu_context_t c)
{
    atomic_store(&current_ctx, c);
    return CU_SUCCESS;
}

/* Each event's "context" is its address + 1, so a query can check it was made current. */
static cu_context_t ctx_of(fake_event_t *f)
{
    return (cu_context_t)(void *)((char *)f + 1);
}

typedef struct record {
    uint64_t session[16], task[16];
    size_t n;
} record_t;

static void on_done(void *ctx, uint64_t session_id, uint64_t task_id)
{
    record_t *r = ctx;
    assert_true(r->n < 16);
    r->session[r->n] = session_id;
    r->task[r->n] = task_id;
    r->n++;
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* keeps the loop running while a test waits */
}

/* Runs the loop until r has `n` entries (or 5 s). */
static void run_until(uv_loop_t *loop, record_t *r, size_t n)
{
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, on_tick, 1, 1);
    uint64_t deadline = uv_hrtime() + UINT64_C(5000000000);
    while (r->n < n && uv_hrtime() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_int_equal(r->n, n);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_tracker(void **state)
{
    (void)state;
    log_set_level(LOG_CRIT); /* the failed query logs an error on purpose */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    cuda_api_t api = {.event_query = fake_query, .ctx_set_current = fake_set_current};
    record_t rec = {0};
    assert_null(cuda_tracker_start(&loop, &(cuda_api_t){0}, on_done, &rec)); /* no query fn */
    cuda_tracker_t *tr = cuda_tracker_start(&loop, &api, on_done, &rec);
    assert_non_null(tr);

    static fake_event_t ev[5];
    assert_int_equal(cuda_tracker_add(tr, (cu_event_t)&ev[0], ctx_of(&ev[0]), 1, 1), 0);
    assert_int_equal(cuda_tracker_add(tr, (cu_event_t)&ev[1], ctx_of(&ev[1]), 1, 2), 0);
    assert_int_equal(cuda_tracker_add(tr, (cu_event_t)&ev[2], ctx_of(&ev[2]), 2, 1), 0);
    assert_int_equal(cuda_tracker_pending(tr), 3);

    /* one completes: exactly that pair reaches the loop */
    atomic_store(&ev[1].ready, 1);
    run_until(&loop, &rec, 1);
    assert_int_equal(rec.session[0], 1);
    assert_int_equal(rec.task[0], 2);
    assert_int_equal(cuda_tracker_pending(tr), 2);

    /* session 2 leaves: its event is not queried any more once forget returns */
    cuda_tracker_forget_session(tr, 2);
    assert_int_equal(cuda_tracker_pending(tr), 1);
    int q = atomic_load(&ev[2].queries);
    atomic_store(&ev[2].ready, 1);
    sleep_ms(20);
    assert_int_equal(atomic_load(&ev[2].queries), q);

    /* while nothing completes the period backs off toward 1 ms: in 100 ms, far fewer than the
     * 10000 queries a fixed 10 us period would make (and more than 100 ms / 1 ms) */
    int q0 = atomic_load(&ev[0].queries);
    sleep_ms(100);
    int polls = atomic_load(&ev[0].queries) - q0;
    assert_true(polls >= 50);
    assert_true(polls < 400);

    /* a failed query completes its task rather than leaving it hanging */
    atomic_store(&ev[0].fail, 1);
    run_until(&loop, &rec, 2);
    assert_int_equal(rec.session[1], 1);
    assert_int_equal(rec.task[1], 1);
    assert_int_equal(cuda_tracker_pending(tr), 0);

    /* idle (nothing to poll), then new work: picked up at once */
    sleep_ms(20);
    atomic_store(&ev[3].ready, 1);
    assert_int_equal(cuda_tracker_add(tr, (cu_event_t)&ev[3], ctx_of(&ev[3]), 3, 9), 0);
    run_until(&loop, &rec, 3);
    assert_int_equal(rec.session[2], 3);
    assert_int_equal(rec.task[2], 9);
    assert_int_equal(atomic_load(&ev[3].queries), 1);
    assert_int_equal(atomic_load(&wrong_ctx), 0);

    /* stopped with an entry left: joined, closed, nothing leaks (valgrind) */
    assert_int_equal(cuda_tracker_add(tr, (cu_event_t)&ev[4], ctx_of(&ev[4]), 4, 1), 0);
    cuda_tracker_stop(tr);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(rec.n, 3);
}

/* A loop torn down by uv_walk (daemon start-up failure) closes the handle; stop still frees. */
static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void test_tracker_teardown(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    cuda_api_t api = {.event_query = fake_query};
    record_t rec = {0};
    cuda_tracker_t *tr = cuda_tracker_start(&loop, &api, on_done, &rec);
    assert_non_null(tr);
    uv_walk(&loop, walk_close, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    cuda_tracker_stop(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker),
        cmocka_unit_test(test_tracker_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
