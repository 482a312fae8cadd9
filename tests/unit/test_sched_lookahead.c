/*
 * Unit tests for lookahead grants in the core scheduler (daemon/sched.c): warm-up, promotion,
 * which tasks may be queued behind a busy core, and when a client must yield the refill.
 */
#include "sched_test_util.h"

/* ---- lookahead ---- */

/* n ready 1-core tasks with ids from first_id, pushed for c at now (stored in t[0..n)). */
static void push_tasks(sched_t *s, sched_client_t *c, task_t **t, size_t n, uint64_t first_id,
                       uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        t[i] = ready_task(first_id + i, 0, 1);
        assert_int_equal(sched_push_ready(s, c, t[i], now), 0);
    }
}

static void unref_tasks(task_t **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        task_unref(t[i]);
}

/* Finishes the head of `core` at now; returns it. */
static task_t *finish_head(sched_t *s, sched_client_t *c, size_t core, uint64_t now)
{
    task_t *h = sched_core_task(s, core);
    assert_non_null(h);
    assert_int_equal(sched_task_finished(s, c, h, now), 0);
    return h;
}

/*
 * 2 cores, lookahead 2, one client with 10-us tasks: no lookahead while fewer than 8 tasks have
 * finished; then each busy core gets 2 queued tasks; finishing a head promotes the first queued
 * task (now running, charged from now, same client, core still busy); only heads may finish.
 */
static void test_lookahead_warmup_and_promote(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[40];
    push_tasks(s, a, t, 40, 1, 0);
    sched_grant_t g[16];
    uint64_t now = 0;
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        size_t n = sched_dispatch(s, now, g, 16);
        if (k < 7) {
            /* the free core is refilled, nothing is queued */
            assert_int_equal(n, 1);
            assert_int_equal(sched_core_queued(s, 0), 0);
            assert_int_equal(sched_core_queued(s, 1), 0);
            continue;
        }
        /* the 8th finish: the free core, then queues filled level by level */
        assert_int_equal(n, 5);
        assert_ptr_equal(g[0].task, sched_core_task(s, 1));
        for (size_t i = 1; i < 5; i++) {
            assert_ptr_equal(g[i].client, a);
            assert_int_equal(g[i].task->state, TASK_RUNNING);
            assert_int_equal(g[i].task->ncores, 1);
            assert_int_equal(g[i].task->cores[0], (i - 1) % 2);
            assert_ptr_not_equal(sched_core_task(s, g[i].task->cores[0]), g[i].task);
        }
        assert_ptr_equal(g[1].task, t[10]); /* in the client's order */
        assert_ptr_equal(g[4].task, t[13]);
    }
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_running(a), 6); /* 2 heads + 4 queued */
    assert_int_equal(sched_client_ready(a), 26);
    task_t *q0 = g[1].task, *q0b = g[3].task;

    /* queued tasks cannot finish before their head: refused, nothing changed */
    uint64_t used = sched_client_core_ns(a, now);
    assert_int_equal(sched_task_finished(s, a, q0b, now + US), NODUS_EINVAL);
    assert_int_equal(sched_task_finished(s, a, q0, now + US), NODUS_EINVAL);
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_client_running(a), 6);
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_core_ns(a, now), used);

    /* the head finishes: q0 is promoted on core 0 */
    now += 10 * US;
    task_t *h0 = finish_head(s, a, 0, now);
    assert_ptr_not_equal(h0, q0);
    assert_ptr_equal(sched_core_task(s, 0), q0);
    assert_int_equal(q0->state, TASK_RUNNING);
    assert_int_equal(q0->start_ns, now);
    assert_int_equal(sched_core_queued(s, 0), 1);
    assert_int_equal(sched_free_cores(s), 0);
    assert_ptr_equal(sched_core_last_client(s, 0), a);
    assert_int_equal(sched_client_running(a), 5);
    /* both cores stay charged to a without a gap: 2 cores x 10 us */
    assert_int_equal(sched_client_core_ns(a, now), used + 2 * 10 * US);
    assert_int_equal(sched_client_core_ns(a, now + 5 * US), used + 2 * 15 * US);
    /* q0b, now first in line behind q0, still cannot finish */
    assert_int_equal(sched_task_finished(s, a, q0b, now), NODUS_EINVAL);

    /* the next dispatch tops core 0 up again */
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_int_equal(g[0].task->cores[0], 0);
    assert_int_equal(sched_core_queued(s, 0), 2);

    /* max bounds lookahead grants too; the next call continues */
    now += 10 * US;
    finish_head(s, a, 0, now);
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 1), 1);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);

    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 40);
}

/*
 * A reload (sched_set_config): weights are worked out again from what each job asked for under
 * the new cap and default; lookahead turned on at run time queues tasks, a lower limit lets the
 * longer queues run down instead of dropping granted tasks.
 */
static void test_set_config(void **state)
{
    (void)state;
    sched_t *s = sched_new_full(2, 1, 8, 0, 0, LOOKAHEAD_MAX_DEFAULT); /* lookahead off */
    sched_client_t *a = sched_client_add(s, 1, "a", 6, NULL);
    sched_client_t *b = sched_client_add(s, 1, "b", 0, NULL);   /* the default */
    sched_client_t *c = sched_client_add(s, 1, "c", 100, NULL); /* capped at 8 */
    assert_int_equal(sched_client_weight(a), 6);
    assert_int_equal(sched_client_weight(b), 1);
    assert_int_equal(sched_client_weight(c), 8);

    sched_config_t cfg;
    sched_get_config(s, &cfg);
    cfg.max_weight = 4;
    cfg.default_weight = 2;
    sched_set_config(s, &cfg, 0);
    assert_int_equal(sched_client_weight(a), 4);
    assert_int_equal(sched_client_weight(b), 2);
    assert_int_equal(sched_client_weight(c), 4);
    cfg.max_weight = 50; /* raising the cap gives back what was asked */
    sched_set_config(s, &cfg, 0);
    assert_int_equal(sched_client_weight(a), 6);
    assert_int_equal(sched_client_weight(c), 50);
    cfg.max_weight = 0; /* normalised like sched_create */
    cfg.default_weight = 0;
    sched_set_config(s, &cfg, 0);
    sched_get_config(s, &cfg);
    assert_int_equal(cfg.max_weight, NODUS_MAX_WEIGHT);
    assert_int_equal(cfg.default_weight, 1);
    sched_client_remove(s, b, 0);
    sched_client_remove(s, c, 0);

    /* lookahead on at run time: short tasks get queued behind the heads */
    task_t *t[40];
    push_tasks(s, a, t, 40, 1, 0);
    sched_grant_t g[16];
    uint64_t now = 0;
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1); /* no queueing while off */
    }
    cfg.lookahead = 3;
    sched_set_config(s, &cfg, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 6);
    assert_int_equal(sched_core_queued(s, 0), 3);
    assert_int_equal(sched_core_queued(s, 1), 3);
    /* lowered to 1: nothing is dropped, the queues run down to it */
    cfg.lookahead = 1;
    sched_set_config(s, &cfg, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    for (size_t k = 0; k < 3; k++) {
        now += 10 * US;
        finish_head(s, a, 0, now);
        sched_dispatch(s, now, g, 16);
    }
    assert_int_equal(sched_core_queued(s, 0), 1);
    assert_int_equal(sched_core_queued(s, 1), 3);
    /* the ring keeps FIFO order across the change: core 1's queue is promoted in grant order */
    task_t *next = NULL;
    for (size_t k = 0; k < 3; k++) {
        now += 10 * US;
        task_t *h = finish_head(s, a, 1, now);
        if (next) assert_ptr_equal(h, next);
        next = sched_core_task(s, 1);
        assert_true(next->id > h->id);
    }
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 40);
}

/* Lookahead needs short tasks: none while the average is above 200 us, back once it drops. */
static void test_lookahead_needs_short_tasks(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(1, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[40];
    push_tasks(s, a, t, 40, 1, 0);
    sched_grant_t g[8];
    uint64_t now = 0;
    assert_int_equal(sched_dispatch(s, now, g, 8), 1);
    for (size_t k = 0; k < 10; k++) {
        now += 300 * US;
        finish_head(s, a, 0, now);
        assert_int_equal(sched_dispatch(s, now, g, 8), 1);
        assert_int_equal(sched_core_queued(s, 0), 0);
    }
    /* 10-us tasks now: the average goes 300 -> 263.75 -> 232.03 -> 204.28 -> 179.99 us */
    for (size_t k = 0; k < 4; k++) {
        now += 10 * US;
        finish_head(s, a, 0, now);
        size_t n = sched_dispatch(s, now, g, 8);
        assert_int_equal(n, k < 3 ? 1 : 3);
        assert_int_equal(sched_core_queued(s, 0), k < 3 ? 0 : 2);
    }
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 40);
}

/* Only 1-core tasks are queued, and only behind 1-core heads. */
static void test_lookahead_one_core_tasks_only(void **state)
{
    (void)state;
    sched_grant_t g[16];
    uint64_t now = 0;

    /* 2 cores: after warming up, the client's next ready task is a 2-core one: nothing queued */
    sched_t *s = sched_new_la(2, SEC, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[14];
    push_tasks(s, a, t, 10, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    }
    assert_int_equal(sched_client_ready(a), 0);
    t[10] = ready_task(11, 1, 2); /* higher priority: the client's head */
    assert_int_equal(sched_push_ready(s, a, t[10], now), 0);
    push_tasks(s, a, t + 11, 3, 12, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(sched_core_queued(s, 0), 0);
    assert_int_equal(sched_core_queued(s, 1), 0);
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 14);

    /* 3 cores: a 2-core head gets nothing queued, the 1-core head beside it does */
    s = sched_new_la(3, SEC, 2);
    a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *u[20];
    push_tasks(s, a, u, 11, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 3);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 3, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    }
    u[11] = ready_task(12, 0, 2);
    assert_int_equal(sched_push_ready(s, a, u[11], now), 0);
    now += 10 * US;
    finish_head(s, a, 0, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0); /* 1 free core: the wide head waits */
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].task, u[11]);
    push_tasks(s, a, u + 12, 8, 13, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    assert_int_equal(sched_core_queued(s, 2), 2);
    assert_int_equal(sched_core_queued(s, u[11]->cores[0]), 0);
    assert_int_equal(sched_core_queued(s, u[11]->cores[1]), 0);
    /* the wide task finishes: both its cores free at once and are refilled normally */
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, a, u[11], now), 0);
    assert_int_equal(sched_free_cores(s), 2);
    assert_int_equal(sched_dispatch(s, now, g, 16), 6); /* 2 heads, then 2 + 2 queued */
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(u, 20);
}

/* While a reservation for a wide task is active nothing is queued, even for an eligible client. */
static void test_lookahead_not_during_reservation(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[13];
    push_tasks(s, a, t, 10, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    }
    now += 10 * US;
    finish_head(s, a, 0, now); /* a: one head on core 1, nothing ready, core 0 free */
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);

    /* b arrives level with a (vtime lifted to a's) with a 2-core task, which is reserved at
     * once; a gets ready work too and would be eligible (tie, short tasks), but must wait */
    task_t *wide = ready_task(100, 0, 2);
    assert_int_equal(sched_push_ready(s, b, wide, now), 0);
    push_tasks(s, a, t + 10, 3, 11, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(sched_core_queued(s, 1), 0);
    assert_int_equal(sched_free_cores(s), 1); /* held for the wide task */

    now += 10 * US;
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].task, wide);
    assert_int_equal(sched_core_queued(s, 0), 0);
    assert_int_equal(sched_core_queued(s, 1), 0);
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, b, wide, now), 0);
    assert_int_equal(sched_dispatch(s, now, g, 16), 3); /* b is idle again: a queues once more */

    sched_client_remove(s, a, now);
    sched_client_remove(s, b, now);
    sched_destroy(s);
    unref_tasks(t, 13);
    task_unref(wide);
}

/*
 * A job with a smaller vtime arrives: the running client's queues are not refilled, so its cores
 * drain and free, and the first one to free goes to the newcomer.
 */
static void test_lookahead_yields_to_deserving_job(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[40], *u[10];
    push_tasks(s, a, t, 40, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        sched_dispatch(s, now, g, 16);
    }
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);

    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    push_tasks(s, b, u, 10, 100, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    /* a's vtime grows from here, b's does not: b is more deserving at every later dispatch */
    for (size_t k = 0; k < 4; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 0); /* not refilled */
        assert_int_equal(sched_core_queued(s, k % 2), 1 - k / 2);
        assert_int_equal(sched_free_cores(s), 0);
    }
    /* core 0's queue has run out: its head finishes, it frees and goes to b */
    now += 10 * US;
    finish_head(s, a, 0, now);
    assert_int_equal(sched_free_cores(s), 1);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].client, b);
    assert_int_equal(g[0].task->cores[0], 0);
    /* core 1 too */
    now += 10 * US;
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].client, b);

    sched_client_remove(s, a, now);
    sched_client_remove(s, b, now);
    sched_destroy(s);
    unref_tasks(t, 40);
    unref_tasks(u, 10);
}

/* The same within a job: a sibling session with less core-time stops the refill just as well. */
static void test_lookahead_yields_to_sibling_session(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "mpi", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[40], *u[10];
    push_tasks(s, a, t, 40, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        sched_dispatch(s, now, g, 16);
    }
    sched_client_t *a2 = sched_client_add(s, 1, "mpi", 1, NULL);
    push_tasks(s, a2, u, 10, 100, now);
    for (size_t k = 0; k < 4; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    }
    now += 10 * US;
    finish_head(s, a, 0, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].client, a2);

    sched_client_remove(s, a, now);
    sched_client_remove(s, a2, now);
    sched_destroy(s);
    unref_tasks(t, 40);
    unref_tasks(u, 10);
}

/* Removing a client with queued tasks frees its cores at once. */
static void test_lookahead_client_remove(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[40], *u[4];
    push_tasks(s, a, t, 40, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        sched_dispatch(s, now, g, 16);
    }
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    push_tasks(s, b, u, 4, 100, now);

    sched_client_remove(s, a, now + US);
    assert_int_equal(sched_free_cores(s), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_null(sched_core_task(s, i));
        assert_int_equal(sched_core_queued(s, i), 0);
    }
    assert_int_equal(sched_dispatch(s, now + US, g, 16), 2);
    assert_ptr_equal(g[0].client, b);
    assert_ptr_equal(g[1].client, b);
    assert_int_equal(sched_task_finished(s, b, g[0].task, now + 2 * US), 0);
    assert_int_equal(sched_task_finished(s, b, g[1].task, now + 2 * US), 0);

    sched_client_remove(s, b, now + 3 * US);
    sched_destroy(s);
    unref_tasks(t, 40);
    unref_tasks(u, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookahead_warmup_and_promote),
        cmocka_unit_test(test_set_config),
        cmocka_unit_test(test_lookahead_needs_short_tasks),
        cmocka_unit_test(test_lookahead_one_core_tasks_only),
        cmocka_unit_test(test_lookahead_not_during_reservation),
        cmocka_unit_test(test_lookahead_yields_to_deserving_job),
        cmocka_unit_test(test_lookahead_yields_to_sibling_session),
        cmocka_unit_test(test_lookahead_client_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
