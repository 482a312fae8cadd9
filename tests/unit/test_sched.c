/*
 * Unit tests for the core scheduler (daemon/sched.c), driven by a simulated clock: creation,
 * priorities and FIFO, weights, core-time accounting, affinity, wide-task reservation and client
 * removal. Fair share, lookahead and the randomized invariants have files of their own.
 */
#include "sched_test_util.h"

static void test_create_rejects_bad_input(void **state)
{
    (void)state;
    uint32_t cpus[2] = {4, 7};
    sched_config_t cfg = {.default_weight = 1, .max_weight = 8};
    assert_null(sched_create(NULL, 2, &cfg));
    assert_null(sched_create(cpus, 0, &cfg));
    assert_null(sched_create(cpus, 2, NULL));
    sched_t *s = sched_create(cpus, 2, &cfg);
    assert_non_null(s);
    assert_int_equal(sched_ncores(s), 2);
    assert_int_equal(sched_core_cpu(s, 0), 4);
    assert_int_equal(sched_core_cpu(s, 1), 7);
    assert_int_equal(sched_free_cores(s), 2);
    assert_null(sched_core_task(s, 5));
    sched_destroy(s);
}

/* Clients left at destroy are removed rather than leaked (valgrind checks the rest). */
static void test_destroy_with_clients_left(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 1, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[3];
    for (size_t i = 0; i < 3; i++) {
        t[i] = ready_task(i + 1, 0, 2);
        assert_int_equal(sched_push_ready(s, a, t[i], 0), 0);
    }
    /* a second push of a queued task is refused, and changes nothing */
    assert_int_equal(sched_push_ready(s, a, t[0], 0), NODUS_EINVAL);
    assert_int_equal(sched_client_ready(a), 3);
    sched_grant_t g[2];
    assert_int_equal(sched_dispatch(s, 0, g, 2), 1);
    assert_int_equal(t[0]->state, TASK_RUNNING);
    assert_int_equal(sched_push_ready(s, a, t[0], 0), NODUS_EINVAL); /* not READY */
    assert_int_equal(sched_push_ready(s, NULL, t[1], 0), NODUS_EINVAL);
    assert_int_equal(sched_client_ready(a), 2);
    sched_destroy(s);
    for (size_t i = 0; i < 3; i++)
        task_unref(t[i]); /* frees t[0]'s owned 2-core array too */
}

/* One client, 2 cores: two grants, the third waits; priority first, FIFO among equals. */
static void test_priorities_and_fifo(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 1, 8, 0);
    sched_client_t *c = sched_client_add(s, 1000, "job", 0, NULL);
    assert_non_null(c);
    task_t *t1 = ready_task(1, 0, 1), *t2 = ready_task(2, 0, 1), *t3 = ready_task(3, 5, 1);
    task_t *t4 = ready_task(4, 0, 1), *t5 = ready_task(5, -3, 1);
    sched_push_ready(s, c, t1, 0);
    sched_push_ready(s, c, t2, 0);
    sched_push_ready(s, c, t3, 0);
    sched_push_ready(s, c, t5, 0);
    sched_push_ready(s, c, t4, 0);
    assert_int_equal(sched_client_ready(c), 5);

    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 10, g, 8), 2);
    assert_ptr_equal(g[0].task, t3);
    assert_ptr_equal(g[1].task, t1);
    assert_ptr_equal(g[0].client, c);
    assert_int_equal(t3->state, TASK_RUNNING);
    assert_int_equal(t3->start_ns, 10);
    assert_int_not_equal(t3->cores[0], t1->cores[0]);
    assert_ptr_equal(sched_core_task(s, t3->cores[0]), t3);
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_running(c), 2);
    assert_int_equal(sched_client_ready(c), 3);

    /* the third waits until a core frees */
    assert_int_equal(sched_dispatch(s, 20, g, 8), 0);
    assert_int_equal(sched_task_finished(s, c, t3, 30), 0);
    assert_int_equal(t3->state, TASK_RUNNING); /* DONE is deps_complete's job */
    assert_int_equal(sched_free_cores(s), 1);
    assert_int_equal(sched_dispatch(s, 30, g, 8), 1);
    assert_ptr_equal(g[0].task, t2);
    assert_int_equal(sched_task_finished(s, c, t1, 40), 0);
    assert_int_equal(sched_task_finished(s, c, t2, 40), 0);
    /* max bounds the grants written */
    assert_int_equal(sched_dispatch(s, 40, g, 1), 1);
    assert_ptr_equal(g[0].task, t4);
    assert_int_equal(sched_dispatch(s, 40, g, 8), 1);
    assert_ptr_equal(g[0].task, t5);
    assert_int_equal(sched_task_finished(s, c, t4, 50), 0);
    assert_int_equal(sched_task_finished(s, c, t5, 50), 0);
    assert_int_equal(sched_free_cores(s), 2);
    assert_int_equal(sched_client_running(c), 0);

    sched_client_remove(s, c, 60);
    sched_destroy(s);
    task_t *all[] = {t1, t2, t3, t4, t5};
    for (size_t i = 0; i < 5; i++)
        task_unref(all[i]);
}

static void test_weights(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 2, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "j", 1000, NULL);
    assert_int_equal(sched_client_weight(a), 8);
    assert_int_equal(sched_client_set_weight(s, a, 0, 0), 2);
    assert_int_equal(sched_client_set_weight(s, a, 3, 0), 3);
    assert_int_equal(sched_client_weight(a), 3);
    /* same uid + job: one job, whose weight is the last one set */
    int owner;
    sched_client_t *b = sched_client_add(s, 1, "j", 5, &owner);
    assert_ptr_equal(sched_client_owner(b), &owner);
    assert_int_equal(sched_client_weight(a), 5);
    assert_int_equal(sched_client_weight(b), 5);
    /* another uid with the same job name is another job */
    sched_client_t *c = sched_client_add(s, 2, "j", 7, NULL);
    assert_int_equal(sched_client_weight(c), 7);
    assert_int_equal(sched_client_weight(a), 5);
    /* a session that asks for no weight joins its job at the job's weight */
    sched_client_t *d = sched_client_add(s, 1, "j", 0, NULL);
    assert_int_equal(sched_client_weight(d), 5);
    assert_int_equal(sched_client_weight(a), 5);
    /* a new job that asks for none gets the default */
    sched_client_t *e = sched_client_add(s, 3, "j", 0, NULL);
    assert_int_equal(sched_client_weight(e), 2);
    sched_client_remove(s, a, 0);
    assert_int_equal(sched_client_weight(b), 5);
    sched_client_remove(s, b, 0);
    sched_client_remove(s, c, 0);
    sched_client_remove(s, d, 0);
    sched_client_remove(s, e, 0);
    sched_destroy(s);
}

/* sched_client_core_ns counts running tasks up to now, ncores times. */
static void test_core_ns_includes_running(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 1, 8, 0);
    sched_client_t *c = sched_client_add(s, 1, "j", 1, NULL);
    task_t *t = ready_task(1, 0, 2);
    sched_push_ready(s, c, t, 0);
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 1000, g, 4), 1);
    assert_int_equal(sched_client_core_ns(c, 1000), 0);
    assert_int_equal(sched_client_core_ns(c, 6000), 10000);
    assert_int_equal(sched_task_finished(s, c, t, 11000), 0);
    assert_int_equal(sched_client_core_ns(c, 11000), 20000);
    assert_int_equal(sched_client_core_ns(c, 50000), 20000);
    sched_client_remove(s, c, 60000);
    sched_destroy(s);
    task_unref(t);
}

/* A client gets the core it ran on last; a stranger gets a core nobody ran on. */
static void test_affinity(void **state)
{
    (void)state;
    sched_t *s = sched_new(3, 1, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    sched_grant_t g[4];
    task_t *tb = ready_task(1, 0, 1), *ta = ready_task(2, 0, 1);
    sched_push_ready(s, b, tb, 0);
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    sched_push_ready(s, a, ta, 0);
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    assert_int_equal(tb->cores[0], 0);
    assert_int_equal(ta->cores[0], 1);
    assert_int_equal(sched_task_finished(s, b, tb, 10), 0);
    assert_int_equal(sched_task_finished(s, a, ta, 10), 0);
    assert_ptr_equal(sched_core_last_client(s, 0), b);
    assert_ptr_equal(sched_core_last_client(s, 1), a);
    assert_null(sched_core_last_client(s, 2));

    /* every core free: a gets core 1 again, b core 0 */
    task_t *ta2 = ready_task(3, 0, 1), *tb2 = ready_task(4, 0, 1);
    sched_push_ready(s, a, ta2, 20);
    assert_int_equal(sched_dispatch(s, 20, g, 4), 1);
    assert_int_equal(ta2->cores[0], 1);
    sched_push_ready(s, b, tb2, 20);
    assert_int_equal(sched_dispatch(s, 20, g, 4), 1);
    assert_int_equal(tb2->cores[0], 0);
    assert_int_equal(sched_task_finished(s, a, ta2, 30), 0);
    assert_int_equal(sched_task_finished(s, b, tb2, 30), 0);

    /* a newcomer prefers the never-used core 2 over cores that others will want back */
    sched_client_t *c = sched_client_add(s, 3, "c", 1, NULL);
    task_t *tc = ready_task(5, 0, 1);
    sched_push_ready(s, c, tc, 40);
    assert_int_equal(sched_dispatch(s, 40, g, 4), 1);
    assert_int_equal(tc->cores[0], 2);
    assert_int_equal(sched_task_finished(s, c, tc, 50), 0);

    /* removing a client forgets it as last client; its core becomes everyone's */
    sched_client_remove(s, a, 60);
    assert_null(sched_core_last_client(s, 1));
    task_t *tc2 = ready_task(6, 0, 1), *tc3 = ready_task(7, 0, 1);
    sched_push_ready(s, c, tc2, 70);
    sched_push_ready(s, c, tc3, 70);
    assert_int_equal(sched_dispatch(s, 70, g, 4), 2);
    assert_int_equal(tc2->cores[0], 2); /* own core first */
    assert_int_equal(tc3->cores[0], 1); /* then the orphaned one, not b's core 0 */
    assert_int_equal(sched_task_finished(s, c, tc2, 80), 0);
    assert_int_equal(sched_task_finished(s, c, tc3, 80), 0);

    sched_client_remove(s, b, 90);
    sched_client_remove(s, c, 90);
    sched_destroy(s);
    task_t *all[] = {ta, tb, ta2, tb2, tc, tc2, tc3};
    for (size_t i = 0; i < 7; i++)
        task_unref(all[i]);
}

/*
 * A 2-of-2-cores task while another job streams 1-core tasks whose cores free at staggered
 * times. Before the reservation the free core is backfilled; after it a core is held, and the
 * wide task runs within reserve_after_ns + the longest task.
 */
static void wide_task_run(uint64_t reserve)
{
    const uint64_t dur = 2 * MS, tick = MS / 2, push_at = 3 * MS + tick;
    sched_t *s = sched_new(2, 1, 8, reserve);
    sched_client_t *b = sched_client_add(s, 1, "stream", 1, NULL);
    sched_client_t *a = sched_client_add(s, 2, "wide", 1, NULL);
    running_t run[4];
    size_t nrun = 0, nall = 0, backfilled = 0, held = 0, after = 0;
    task_t *all[256], *wide = NULL;
    uint64_t placed_at = 0, wide_end = 0, id = 0;

    for (uint64_t now = 0; now <= 40 * MS; now += tick) {
        for (size_t i = 0; i < nrun;) {
            if (run[i].end <= now) {
                assert_int_equal(sched_task_finished(s, run[i].c, run[i].t, now), 0);
                run[i] = run[--nrun];
            } else {
                i++;
            }
        }
        /* one stream task at 0, then a full queue from 1 ms: cores free on alternate ms */
        size_t want = now == 0 ? 1 : now >= MS ? 3 : 0;
        while (sched_client_ready(b) < want) {
            all[nall] = ready_task(++id, 0, 1);
            sched_push_ready(s, b, all[nall++], now);
        }
        if (now == push_at) {
            wide = all[nall++] = ready_task(++id, 0, 2);
            sched_push_ready(s, a, wide, now);
        }
        sched_grant_t g[4];
        size_t n = sched_dispatch(s, now, g, 4);
        for (size_t i = 0; i < n; i++) {
            uint64_t end = now + dur;
            if (g[i].task == wide) {
                placed_at = now;
                wide_end = end;
                assert_ptr_equal(g[i].client, a);
                assert_int_not_equal(wide->cores[0], wide->cores[1]);
                assert_ptr_equal(sched_core_task(s, wide->cores[0]), wide);
                assert_ptr_equal(sched_core_task(s, wide->cores[1]), wide);
            } else if (wide && !placed_at) {
                backfilled++;
            } else if (placed_at && now >= wide_end) {
                after++;
            }
            run[nrun++] = (running_t){g[i].task, g[i].client, end};
        }
        if (wide && !placed_at && sched_free_cores(s) > 0 && sched_client_ready(b) > 0)
            held++; /* a core kept idle for the wide task although b has work */
        if (wide && !placed_at && now < push_at + reserve)
            assert_int_equal(sched_free_cores(s), 0); /* no reservation yet: backfilled */
    }
    assert_true(placed_at > 0);
    assert_true(placed_at >= push_at + reserve); /* cores never free together: it waited */
    assert_true(placed_at <= push_at + reserve + 2 * dur);
    assert_true(held >= 1);
    if (reserve >= 4 * MS) assert_true(backfilled >= reserve / MS - 2);
    assert_true(after > 10); /* the stream continues afterwards */

    sched_client_remove(s, a, 41 * MS);
    sched_client_remove(s, b, 41 * MS);
    sched_destroy(s);
    for (size_t i = 0; i < nall; i++)
        task_unref(all[i]);
}

static void test_wide_task_reservation(void **state)
{
    (void)state;
    wide_task_run(10 * MS);
}

static void test_wide_task_reserve_at_once(void **state)
{
    (void)state;
    wide_task_run(0);
}

/* Removing a client frees its cores at once; finishing a task that is not running fails. */
static void test_client_remove(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 1, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    task_t *ta[5], *tb[2];
    for (size_t i = 0; i < 5; i++) {
        ta[i] = ready_task(i + 1, 0, 1);
        sched_push_ready(s, a, ta[i], 0);
    }
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 2);
    assert_ptr_equal(g[0].client, a);
    assert_ptr_equal(g[1].client, a);
    for (size_t i = 0; i < 2; i++) {
        tb[i] = ready_task(10 + i, 0, 1);
        sched_push_ready(s, b, tb[i], 1);
    }
    assert_int_equal(sched_dispatch(s, 1, g, 4), 0);

    /* bad finishes change nothing */
    assert_int_equal(sched_task_finished(s, b, tb[0], 2), NODUS_EINVAL); /* ready, not running */
    assert_int_equal(sched_task_finished(s, b, ta[0], 2), NODUS_EINVAL); /* a's task */
    assert_int_equal(sched_task_finished(s, a, ta[3], 2), NODUS_EINVAL); /* a's, but ready */
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_running(a), 2);
    assert_int_equal(sched_task_finished(s, a, ta[0], 3), 0);
    assert_int_equal(sched_task_finished(s, a, ta[0], 3), NODUS_EINVAL); /* twice */
    assert_int_equal(sched_dispatch(s, 3, g, 4), 1);                     /* b's turn */
    assert_ptr_equal(g[0].task, tb[0]);
    assert_int_equal(sched_task_finished(s, b, tb[0], 4), 0);
    assert_int_equal(sched_free_cores(s), 1);

    /* a still runs ta[1] and has ready tasks; remove it: its core frees at once */
    sched_client_remove(s, a, 5);
    assert_int_equal(sched_free_cores(s), 2);
    assert_null(sched_core_task(s, 0));
    assert_null(sched_core_task(s, 1));
    /* ta[0] and then tb[0] ran on core 0; ta[1] never finished on core 1 */
    assert_ptr_equal(sched_core_last_client(s, 0), b);
    assert_null(sched_core_last_client(s, 1));
    assert_int_equal(sched_dispatch(s, 5, g, 4), 1);
    assert_ptr_equal(g[0].task, tb[1]);
    assert_int_equal(sched_client_ready(b), 0);
    assert_int_equal(sched_task_finished(s, b, tb[1], 6), 0);

    sched_client_remove(s, b, 7);
    sched_destroy(s);
    for (size_t i = 0; i < 5; i++)
        task_unref(ta[i]);
    for (size_t i = 0; i < 2; i++)
        task_unref(tb[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_input),
        cmocka_unit_test(test_destroy_with_clients_left),
        cmocka_unit_test(test_priorities_and_fifo),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_core_ns_includes_running),
        cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_wide_task_reservation),
        cmocka_unit_test(test_wide_task_reserve_at_once),
        cmocka_unit_test(test_client_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
