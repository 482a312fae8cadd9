/*
 * Unit tests for device-first dispatch in the scheduler (daemon/sched_device.c, sched.c):
 * device work a device can take now goes before earlier CPU work, multi-version tasks keep
 * their order when they run on the CPU, and lookahead stops at, and yields to, device tasks.
 */
#include "sched_device_test_util.h"

/* ---- device-first dispatch ---- */

/* 40 CPU tasks ready before one device task: the device task goes first, CPU tasks fill the rest.
 */
static void test_device_first_over_earlier_cpu_tasks(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, SEC, 0);
    assert_int_equal(sched_add_device(s, CUDA, 2, 64, 32, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *p[40];
    for (int i = 0; i < 40; i++) {
        p[i] = task_new((uint64_t)i + 1, I_CPU, 1);
        assert_int_equal(sched_push_ready(s, c, p[i], 0), 0);
    }
    task_t *d = task_new(41, I_CUDA, 1);
    assert_int_equal(sched_push_ready(s, c, d, 1), 0);
    assert_int_equal(sched_client_ready(c), 41);
    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 1, g, 8), 4);
    assert_ptr_equal(g[0].task, d);
    assert_int_equal(g[0].kind, CUDA);
    assert_int_equal(sched_device_in_flight(s, 0), 1);
    /* the other three cores: CPU tasks, in submission order */
    for (int i = 1; i < 4; i++) {
        assert_ptr_equal(g[i].task, p[i - 1]);
        assert_int_equal(g[i].kind, CPU);
    }
    assert_int_equal(sched_client_ready(c), 37);
    check_cores(s);
    sched_client_remove(s, c, 10);
    assert_int_equal(sched_free_cores(s), 4);
    assert_int_equal(sched_device_in_flight(s, 0), 0);
    sched_destroy(s);
    unref_all(p, 40);
    task_unref(d);
}

/* The same with a CPU device (PoCL): it holds its core, the body and CPU tasks take the others. */
static void test_device_first_cpu_device(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, SEC, 0);
    uint32_t held[1] = {3};
    assert_int_equal(sched_add_device(s, OCL, 2, 64, 32, held, 1), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *p[40];
    for (int i = 0; i < 40; i++) {
        p[i] = task_new((uint64_t)i + 1, I_CPU, 1);
        sched_push_ready(s, c, p[i], 0);
    }
    task_t *k = task_new(41, I_OCL, 1);
    sched_push_ready(s, c, k, 1);
    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 1, g, 8), 3);
    assert_ptr_equal(g[0].task, k);
    assert_int_equal(g[0].kind, OCL);
    assert_int_equal(sched_core_held_by(s, 3), 0);
    assert_ptr_equal(g[1].task, p[0]);
    assert_ptr_equal(g[2].task, p[1]);
    check_cores(s);
    sched_client_remove(s, c, 10);
    sched_destroy(s);
    unref_all(p, 40);
    task_unref(k);
}

/*
 * Figure 5's start on two cores, one held by a CPU device: the device task becomes ready while
 * CPU tasks run on both cores. The first core to free stays free (the device needs its core and
 * one for the body) instead of taking the next of the client's earlier CPU tasks; when the
 * device's core frees, the device task starts. From then on, with the device holding its core,
 * each new device task takes the next free core ahead of the CPU tasks.
 */
static void test_device_first_waits_for_device_cores(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, SEC, 0);
    uint32_t held[1] = {1};
    assert_int_equal(sched_add_device(s, OCL, 1, 64, 32, held, 1), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *p[10], *k[2];
    for (int i = 0; i < 10; i++) {
        p[i] = task_new((uint64_t)i + 1, I_CPU, 1);
        sched_push_ready(s, c, p[i], 0);
    }
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 2);
    k[0] = task_new(11, I_OCL, 1);
    sched_push_ready(s, c, k[0], 1);
    task_t *on1 = sched_core_task(s, 1), *on0 = sched_core_task(s, 0);
    assert_int_equal(sched_task_finished(s, c, on0, 10 * MS), 0);
    assert_int_equal(sched_dispatch(s, 10 * MS, g, 4), 0);
    assert_int_equal(sched_free_cores(s), 1);
    assert_int_equal(k[0]->state, TASK_READY);
    assert_int_equal(sched_task_finished(s, c, on1, 11 * MS), 0);
    assert_int_equal(sched_dispatch(s, 11 * MS, g, 4), 1);
    assert_ptr_equal(g[0].task, k[0]);
    assert_int_equal(k[0]->cores[0], 0);
    assert_int_equal(sched_core_held_by(s, 1), 0);
    check_cores(s);
    /* the body returns: a CPU task takes its core */
    assert_int_equal(sched_task_finished(s, c, k[0], 12 * MS), 0);
    assert_int_equal(sched_dispatch(s, 12 * MS, g, 4), 1);
    assert_ptr_equal(g[0].task, p[2]);
    /* the next device task, ready behind 7 CPU tasks, takes the next free core */
    k[1] = task_new(12, I_OCL, 1);
    sched_push_ready(s, c, k[1], 13 * MS);
    assert_int_equal(sched_task_finished(s, c, p[2], 22 * MS), 0);
    assert_int_equal(sched_dispatch(s, 22 * MS, g, 4), 1);
    assert_ptr_equal(g[0].task, k[1]);
    assert_int_equal(sched_device_in_flight(s, 0), 2);
    check_cores(s);
    sched_client_remove(s, c, 30 * MS);
    assert_int_equal(sched_free_cores(s), 2);
    sched_destroy(s);
    unref_all(p, 10);
    unref_all(k, 2);
}

/*
 * Priorities order each heap: the device-capable heap's best goes to the device first, the
 * CPU-only ones by priority; a device task with no room (session bound) waits and does not hold
 * up CPU tasks; it runs when room comes back.
 */
static void test_device_first_priorities(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, SEC, 0);
    assert_int_equal(sched_add_device(s, CUDA, 1, 64, 1, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *p_lo = task_new(1, I_CPU, 1), *d_lo = task_new(2, I_CUDA, 1);
    task_t *p_hi = task_new(3, I_CPU, 1), *d_hi = task_new(4, I_CUDA, 1);
    p_hi->priority = 5;
    d_hi->priority = 3;
    sched_push_ready(s, c, p_lo, 0);
    sched_push_ready(s, c, d_lo, 0);
    sched_push_ready(s, c, p_hi, 0);
    sched_push_ready(s, c, d_hi, 0);
    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 0, g, 8), 3);
    assert_ptr_equal(g[0].task, d_hi); /* device-first, whatever p_hi's priority */
    assert_int_equal(g[0].kind, CUDA);
    assert_ptr_equal(g[1].task, p_hi);
    assert_ptr_equal(g[2].task, p_lo);
    assert_int_equal(d_lo->state, TASK_READY); /* the session's one place on the device is taken */
    assert_int_equal(sched_free_cores(s), 1);
    /* d_hi's body returns and its device work completes: d_lo goes */
    assert_int_equal(sched_task_finished(s, c, d_hi, 10), 0);
    assert_int_equal(sched_dispatch(s, 10, g, 8), 0);
    assert_int_equal(sched_device_complete(s, c, d_hi, 20), 0);
    assert_int_equal(sched_dispatch(s, 20, g, 8), 1);
    assert_ptr_equal(g[0].task, d_lo);
    assert_int_equal(sched_client_ready(c), 0);
    sched_client_remove(s, c, 30);
    sched_destroy(s);
    task_t *all[4] = {p_lo, d_lo, p_hi, d_hi};
    unref_all(all, 4);
}

/* Calibrates c's "k3" (CPU | CUDA) model: the CPU takes 100 us, the device 10 ms. */
static void calibrate_cpu_faster(sched_t *s, sched_client_t *c, uint64_t *now)
{
    for (int i = 0; i < 6; i++) {
        task_t *t = task_new(100 + (uint64_t)i, I_CPU | I_CUDA, 1);
        sched_push_ready(s, c, t, *now);
        sched_grant_t g[2];
        assert_int_equal(sched_dispatch(s, *now, g, 2), 1);
        assert_int_equal(g[0].kind, i % 2 == 0 ? CPU : CUDA); /* calibration round-robin */
        if (g[0].kind == CPU) {
            *now += 100 * US;
            assert_int_equal(sched_task_finished(s, c, t, *now), 0);
        } else {
            *now += 100 * US;
            assert_int_equal(sched_task_finished(s, c, t, *now), 0);
            *now += 9900 * US;
            assert_int_equal(sched_device_complete(s, c, t, *now), 0);
        }
        task_unref(t);
    }
}

/* A multi-version task that placement sends to the CPU competes in submission order. */
static void test_multi_version_cpu_in_order(void **state)
{
    (void)state;
    sched_t *s = sched_new(3, SEC, 0);
    assert_int_equal(sched_add_device(s, CUDA, 1, 64, 32, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    uint64_t now = 0;
    calibrate_cpu_faster(s, c, &now);
    task_t *p1 = task_new(1, I_CPU, 1), *mv = task_new(2, I_CPU | I_CUDA, 1);
    task_t *p2 = task_new(3, I_CPU, 1), *p3 = task_new(4, I_CPU, 1);
    sched_push_ready(s, c, p1, now);
    sched_push_ready(s, c, mv, now);
    sched_push_ready(s, c, p2, now);
    sched_push_ready(s, c, p3, now);
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, now, g, 4), 3);
    assert_ptr_equal(g[0].task, p1);
    assert_ptr_equal(g[1].task, mv);
    assert_int_equal(g[1].kind, CPU);
    assert_int_equal(sched_device_in_flight(s, 0), 0);
    assert_ptr_equal(g[2].task, p2);
    assert_int_equal(p3->state, TASK_READY);
    /* behind the CPU tasks in order, it waits its turn */
    task_t *mv2 = task_new(5, I_CPU | I_CUDA, 1);
    sched_push_ready(s, c, mv2, now);
    assert_int_equal(sched_task_finished(s, c, p1, now + 1), 0);
    assert_int_equal(sched_dispatch(s, now + 1, g, 4), 1);
    assert_ptr_equal(g[0].task, p3);
    assert_int_equal(sched_task_finished(s, c, p2, now + 2), 0);
    assert_int_equal(sched_dispatch(s, now + 2, g, 4), 1);
    assert_ptr_equal(g[0].task, mv2);
    assert_int_equal(g[0].kind, CPU);
    sched_client_remove(s, c, now + 10);
    sched_destroy(s);
    task_t *all[5] = {p1, mv, p2, p3, mv2};
    unref_all(all, 5);
}

/* Lookahead queues CPU-only tasks up to a multi-version task that would run on the CPU next. */
static void test_lookahead_stops_at_multi_version_in_order(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, SEC, 2);
    assert_int_equal(sched_add_device(s, CUDA, 1, 64, 32, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    uint64_t now = 0;
    calibrate_cpu_faster(s, c, &now);
    task_t *t[16];
    size_t nt = 0;
    sched_grant_t g[16];
    for (int i = 0; i < 8; i++) { /* warm up the task-time average */
        t[nt] = task_new(nt + 1, I_CPU, 1);
        sched_push_ready(s, c, t[nt], now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
        now += 10 * US;
        assert_int_equal(sched_task_finished(s, c, t[nt++], now), 0);
    }
    task_t *p[3], *mv = task_new(30, I_CPU | I_CUDA, 1), *q = task_new(31, I_CPU, 1);
    for (int i = 0; i < 3; i++) {
        p[i] = task_new(20 + (uint64_t)i, I_CPU, 1);
        sched_push_ready(s, c, p[i], now);
    }
    sched_push_ready(s, c, mv, now);
    sched_push_ready(s, c, q, now);
    /* p0, p1 on the cores, p2 queued; q comes after mv, which lookahead cannot queue */
    assert_int_equal(sched_dispatch(s, now, g, 16), 3);
    assert_ptr_equal(g[2].task, p[2]);
    assert_int_equal(sched_core_queued(s, 0) + sched_core_queued(s, 1), 1);
    assert_int_equal(mv->state, TASK_READY);
    assert_int_equal(q->state, TASK_READY);
    /* the core with nothing queued frees: mv runs there, on the CPU, and q is queued behind it */
    size_t free_core = sched_core_queued(s, 0) == 0 ? 0 : 1;
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, c, sched_core_task(s, free_core), now), 0);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    assert_ptr_equal(g[0].task, mv);
    assert_int_equal(g[0].kind, CPU);
    assert_ptr_equal(g[1].task, q);
    sched_client_remove(s, c, now);
    sched_destroy(s);
    unref_all(t, nt);
    unref_all(p, 3);
    task_unref(mv);
    task_unref(q);
}

/*
 * Lookahead stops refilling a client's queues while it has a device task that would go to a
 * device, so its cores drain and the first to free takes the device task; then it resumes.
 */
static void test_lookahead_yields_to_device_task(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, SEC, 2);
    assert_int_equal(sched_add_device(s, CUDA, 1, 64, 32, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[64];
    size_t nt = 0;
    uint64_t now = 0;
    sched_grant_t g[16];
    for (int i = 0; i < 8; i++) { /* warm up the task-time average */
        t[nt] = task_new(nt + 1, I_CPU, 1);
        sched_push_ready(s, c, t[nt], now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
        now += 10 * US;
        assert_int_equal(sched_task_finished(s, c, t[nt++], now), 0);
    }
    for (int i = 0; i < 20; i++, nt++) {
        t[nt] = task_new(nt + 1, I_CPU, 1);
        sched_push_ready(s, c, t[nt], now);
    }
    assert_int_equal(sched_dispatch(s, now, g, 16), 6); /* 2 heads, 2 queued on each */
    task_t *d = task_new(nt + 1, I_CUDA, 1);
    t[nt++] = d;
    sched_push_ready(s, c, d, now);
    /* core 0's head returns: the next is promoted, but its queue is not refilled */
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, c, sched_core_task(s, 0), now), 0);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(sched_core_queued(s, 0), 1);
    while (sched_core_task(s, 0)) {
        now += 10 * US;
        assert_int_equal(sched_task_finished(s, c, sched_core_task(s, 0), now), 0);
    }
    /* core 0 is free: the device task's body; lookahead resumes behind it (core 1 is full) */
    size_t n = sched_dispatch(s, now, g, 16);
    assert_ptr_equal(g[0].task, d);
    assert_int_equal(g[0].kind, CUDA);
    assert_int_equal(d->cores[0], 0);
    assert_int_equal(n, 3);
    assert_int_equal(sched_core_queued(s, 0), 2);
    check_cores(s);
    sched_client_remove(s, c, now);
    sched_destroy(s);
    unref_all(t, nt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_first_over_earlier_cpu_tasks),
        cmocka_unit_test(test_device_first_cpu_device),
        cmocka_unit_test(test_device_first_waits_for_device_cores),
        cmocka_unit_test(test_device_first_priorities),
        cmocka_unit_test(test_multi_version_cpu_in_order),
        cmocka_unit_test(test_lookahead_stops_at_multi_version_in_order),
        cmocka_unit_test(test_lookahead_yields_to_device_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
