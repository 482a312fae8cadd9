/*
 * Unit tests for the scheduler's devices (daemon/sched_device.c with sched.c, sched_core.c):
 * the device task lifecycle (grant -> body returns, core free at once -> device completion),
 * the cores a CPU device holds from a grant until its in-flight count is 0, the core invariant
 * with held cores, client removal with work in flight, lookahead that never queues device tasks,
 * charging of held core-time, the reservation that keeps a CPU-device task from starving, and a
 * randomized simulation that checks the invariants after every step.
 */
#include "sched_device_test_util.h"

static void test_add_device_rules(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 0, 0);
    uint32_t cores[3] = {3, 2, 3};
    assert_int_equal(sched_kinds(s), I_CPU);
    assert_int_equal(sched_add_device(s, CPU, 4, 8, 8, NULL, 0), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, 3, 4, 8, 8, NULL, 0), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, OCL, 0, 8, 8, NULL, 0), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, OCL, 65, 8, 8, NULL, 0), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, OCL, 4, 0, 8, NULL, 0), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, OCL, 4, 8, 0, NULL, 0), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, OCL, 4, 8, 8, cores, 3), NODUS_EINVAL); /* duplicate */
    uint32_t all[4] = {0, 1, 2, 3};
    assert_int_equal(sched_add_device(s, OCL, 4, 8, 8, all, 4), NODUS_EINVAL); /* no body core */
    uint32_t bad[1] = {4};
    assert_int_equal(sched_add_device(s, OCL, 4, 8, 8, bad, 1), NODUS_EINVAL);
    assert_int_equal(sched_add_device(s, CUDA, 4, 8, 8, NULL, 0), 0);
    assert_int_equal(sched_add_device(s, OCL, 4, 8, 8, cores, 2), 1);
    assert_int_equal(sched_ndevices(s), 2);
    assert_int_equal(sched_kinds(s), I_CPU | I_CUDA | I_OCL);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    assert_int_equal(sched_add_device(s, CUDA, 4, 8, 8, NULL, 0), NODUS_ESTATE);
    assert_int_equal(sched_ndevices(s), 2);
    sched_client_remove(s, c, 0);
    sched_destroy(s);
}

/* Grant -> body returns (core free at once, others run on it) -> device completes. */
static void test_device_task_lifecycle(void **state)
{
    (void)state;
    sched_t *s = sched_new(1, 0, 0);
    assert_int_equal(sched_add_device(s, CUDA, 2, 64, 32, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *d = task_new(1, I_CUDA, 1), *p = task_new(2, I_CPU, 1);
    sched_push_ready(s, c, d, 0);
    sched_push_ready(s, c, p, 0);
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    assert_ptr_equal(g[0].task, d);
    assert_int_equal(g[0].kind, CUDA);
    assert_int_equal(g[0].device, 0);
    assert_int_equal(g[0].slot, 0);
    assert_int_equal(d->state, TASK_RUNNING);
    assert_ptr_equal(sched_core_task(s, 0), d);
    assert_int_equal(sched_device_in_flight(s, 0), 1); /* in flight from the grant */
    assert_int_equal(sched_client_device(c), 0);
    /* completing before the body returned is refused */
    assert_int_equal(sched_device_complete(s, c, d, 5), NODUS_EINVAL);

    /* the body returns: the core is free at once, the CPU task runs on it */
    assert_int_equal(sched_task_finished(s, c, d, 10), 0);
    assert_int_equal(d->state, TASK_DEVICE);
    assert_int_equal(sched_free_cores(s), 1);
    assert_int_equal(sched_client_running(c), 0);
    assert_int_equal(sched_client_device(c), 1);
    assert_int_equal(sched_device_in_flight(s, 0), 1);
    assert_int_equal(sched_client_device_in_flight(c, 0), 1);
    assert_int_equal(sched_dispatch(s, 10, g, 4), 1);
    assert_ptr_equal(g[0].task, p);
    assert_int_equal(g[0].kind, CPU);
    /* a second finish is refused: the body is no longer running */
    assert_int_equal(sched_task_finished(s, c, d, 11), NODUS_EINVAL);
    /* the body's core-time is charged, the device phase is not (no core held) */
    assert_int_equal(sched_client_core_ns(c, 10), 10);

    /* the device work ends while p runs */
    sched_client_t *other = sched_client_add(s, 2, "b", 1, NULL);
    assert_int_equal(sched_device_complete(s, other, d, 20), NODUS_EINVAL); /* not its task */
    assert_int_equal(sched_device_complete(s, c, d, 20), 0);
    assert_int_equal(d->state, TASK_DEVICE); /* DONE is deps_complete's job */
    assert_int_equal(sched_device_in_flight(s, 0), 0);
    assert_int_equal(sched_client_device(c), 0);
    assert_int_equal(sched_device_completed(s, 0), 1);
    assert_int_equal(sched_device_complete(s, c, d, 21), NODUS_EINVAL); /* only once */
    assert_int_equal(sched_task_finished(s, c, p, 30), 0);
    sched_client_remove(s, c, 30);
    sched_client_remove(s, other, 30);
    sched_destroy(s);
    task_unref(d);
    task_unref(p);
}

/* A CPU device holds its cores from the grant until its in-flight count is 0. */
static void test_cpu_device_holds_cores(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 0, 0);
    uint32_t held[1] = {3};
    assert_int_equal(sched_add_device(s, OCL, 2, 64, 32, held, 1), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *k1 = task_new(1, I_OCL, 1), *k2 = task_new(2, I_OCL, 1);
    task_t *p[4];
    sched_push_ready(s, c, k1, 0);
    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 0, g, 8), 1);
    assert_int_equal(g[0].kind, OCL);
    assert_int_not_equal(k1->cores[0], 3); /* the body never runs on a held core */
    assert_int_equal(sched_core_held_by(s, 3), 0);
    assert_true(sched_device_cores_held(s, 0));
    assert_int_equal(sched_free_cores(s), 2); /* one body, one held */
    check_cores(s);

    /* CPU tasks fill the two free cores, never the held one */
    for (int i = 0; i < 4; i++) {
        p[i] = task_new((uint64_t)i + 3, I_CPU, 1);
        sched_push_ready(s, c, p[i], 1);
    }
    assert_int_equal(sched_dispatch(s, 1, g, 8), 2);
    for (int i = 0; i < 2; i++)
        assert_int_not_equal(g[i].task->cores[0], 3);
    check_cores(s);

    /* the body returns: its core goes to a CPU task; the device still holds core 3 */
    assert_int_equal(sched_task_finished(s, c, k1, 10), 0);
    assert_true(sched_device_cores_held(s, 0));
    assert_int_equal(sched_dispatch(s, 10, g, 8), 1);
    assert_int_not_equal(g[0].task->cores[0], 3);
    check_cores(s);

    /* a second kernel while the device holds: only a body core is needed */
    assert_int_equal(sched_task_finished(s, c, p[0], 20), 0);
    k2->priority = 1; /* ahead of the CPU task still waiting */
    sched_push_ready(s, c, k2, 20);
    assert_int_equal(sched_dispatch(s, 20, g, 8), 1);
    assert_ptr_equal(g[0].task, k2);
    assert_int_equal(sched_device_in_flight(s, 0), 2);
    assert_int_equal(sched_task_finished(s, c, k2, 25), 0);

    /* the first kernel ends: one still in flight, the core stays held */
    assert_int_equal(sched_device_complete(s, c, k1, 30), 0);
    assert_true(sched_device_cores_held(s, 0));
    assert_int_equal(sched_core_held_by(s, 3), 0);
    /* the last one ends: core 3 is free again, with k2's body core */
    assert_int_equal(sched_device_complete(s, c, k2, 40), 0);
    assert_false(sched_device_cores_held(s, 0));
    assert_int_equal(sched_core_held_by(s, 3), -1);
    assert_int_equal(sched_free_cores(s), 2);
    check_cores(s);
    assert_int_equal(sched_dispatch(s, 40, g, 8), 1); /* the last CPU task */
    assert_int_equal(sched_free_cores(s), 1);
    check_cores(s);

    sched_client_remove(s, c, 50);
    assert_int_equal(sched_free_cores(s), 4);
    sched_destroy(s);
    task_unref(k1);
    task_unref(k2);
    unref_all(p, 4);
}

/* With a CPU device, CPU bodies go to the cores it may not hold first; its cores last. */
static void test_bodies_prefer_plain_cores(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 0, 0);
    uint32_t held[2] = {0, 1};
    assert_int_equal(sched_add_device(s, OCL, 2, 64, 32, held, 2), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = task_new((uint64_t)i + 1, I_CPU, 1);
        sched_push_ready(s, c, p[i], 0);
    }
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 1), 1);
    assert_int_equal(g[0].task->cores[0], 2);
    assert_int_equal(sched_dispatch(s, 0, g, 1), 1);
    assert_int_equal(g[0].task->cores[0], 3);
    /* then the device's cores: the CPU loses no capacity */
    assert_int_equal(sched_dispatch(s, 0, g, 4), 2);
    assert_int_equal(sched_free_cores(s), 0);
    sched_client_remove(s, c, 10);
    sched_destroy(s);
    unref_all(p, 4);
}

/* A CPU-device task whose cores stay busy becomes the reservation and cannot starve. */
static void test_cpu_device_task_reserves(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 5 * MS, 0);
    uint32_t held[1] = {1};
    assert_int_equal(sched_add_device(s, OCL, 1, 64, 32, held, 1), 0);
    sched_client_t *a = sched_client_add(s, 1, "cpu", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "ocl", 1, NULL);
    task_t *p[64];
    size_t np = 0;
    uint64_t end[2];
    /* a keeps both cores busy with 2-ms tasks, staggered: one core frees each millisecond */
    for (; np < 2; np++) {
        p[np] = task_new(np + 1, I_CPU, 1);
        sched_push_ready(s, a, p[np], 0);
    }
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 2);
    end[g[0].task->cores[0]] = 1 * MS;
    end[g[1].task->cores[0]] = 2 * MS;
    task_t *k = task_new(1, I_OCL, 1);
    sched_push_ready(s, b, k, 0);
    uint64_t now = 0, granted_at = 0;
    for (int step = 0; step < 40 && !granted_at; step++) {
        now += 1 * MS;
        for (size_t c = 0; c < 2; c++) {
            task_t *t = sched_core_task(s, c);
            if (t && end[c] <= now) assert_int_equal(sched_task_finished(s, a, t, now), 0);
        }
        while (sched_client_ready(a) < 2 && np < 64) {
            p[np] = task_new(np + 1, I_CPU, 1);
            sched_push_ready(s, a, p[np++], now);
        }
        size_t n = sched_dispatch(s, now, g, 4);
        for (size_t i = 0; i < n; i++) {
            if (g[i].task == k)
                granted_at = now;
            else
                end[g[i].task->cores[0]] = now + 2 * MS;
        }
        check_cores(s);
    }
    /* passed over while one core at a time was free; reserved after 5 ms of waiting (at 6 ms:
     * the core freed then stays free), granted when the other one frees (7 ms) */
    assert_int_equal(granted_at, 7 * MS);
    assert_true(sched_device_cores_held(s, 0));
    assert_int_equal(k->cores[0], 0);
    sched_client_remove(s, a, now);
    sched_client_remove(s, b, now);
    assert_false(sched_device_cores_held(s, 0));
    assert_int_equal(sched_free_cores(s), 2);
    sched_destroy(s);
    task_unref(k);
    unref_all(p, np);
}

/* Removing a client with tasks in flight (bodies running and device phases): counts drop. */
static void test_client_remove_in_flight(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 0, 0);
    uint32_t held[1] = {3};
    assert_int_equal(sched_add_device(s, OCL, 2, 64, 32, held, 1), 0);
    assert_int_equal(sched_add_device(s, CUDA, 2, 64, 32, NULL, 0), 1);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    task_t *ka[3] = {task_new(1, I_OCL, 1), task_new(2, I_OCL, 1), task_new(3, I_CUDA, 1)};
    task_t *kb = task_new(1, I_CUDA, 1);
    for (int i = 0; i < 3; i++)
        sched_push_ready(s, a, ka[i], 0);
    sched_push_ready(s, b, kb, 0);
    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 0, g, 8), 3); /* 3 bodies fit beside the held core */
    assert_int_equal(sched_free_cores(s), 0);
    /* one of a's OpenCL bodies returns; its kernel stays in flight */
    task_t *back = ka[0]->state == TASK_RUNNING ? ka[0] : ka[1];
    assert_int_equal(sched_task_finished(s, a, back, 10), 0);
    assert_int_equal(sched_dispatch(s, 10, g, 8), 1); /* the last one: b's or a's */
    uint32_t cuda_before = sched_device_in_flight(s, 1);
    uint32_t b_cuda = sched_client_device_in_flight(b, 1);
    sched_client_remove(s, a, 20);
    assert_int_equal(sched_device_in_flight(s, 0), 0);
    assert_false(sched_device_cores_held(s, 0));
    assert_int_equal(sched_device_in_flight(s, 1), b_cuda);
    assert_true(cuda_before >= b_cuda);
    assert_int_equal(sched_device_slot_load(s, 0, 0) + sched_device_slot_load(s, 0, 1), 0);
    check_cores(s);
    assert_int_equal(sched_free_cores(s), 4 - b_cuda);
    sched_client_remove(s, b, 30);
    assert_int_equal(sched_device_in_flight(s, 1), 0);
    assert_int_equal(sched_free_cores(s), 4);
    sched_destroy(s);
    unref_all(ka, 3);
    task_unref(kb);
}

/* Held core-time goes to the sessions with kernels in flight, split between their tasks. */
static void test_held_cores_charged(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 0, 0);
    uint32_t held[2] = {2, 3};
    assert_int_equal(sched_add_device(s, OCL, 2, 64, 32, held, 2), 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    task_t *ka = task_new(1, I_OCL, 1), *kb = task_new(1, I_OCL, 1);
    sched_push_ready(s, a, ka, 0);
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    assert_int_equal(sched_task_finished(s, a, ka, 100), 0); /* body: 100 ns on one core */
    sched_push_ready(s, b, kb, 1000);
    assert_int_equal(sched_dispatch(s, 1000, g, 4), 1); /* a alone held 2 cores for 1000 ns */
    assert_int_equal(sched_client_core_ns(a, 1000), 100 + 2 * 1000);
    assert_int_equal(sched_task_finished(s, b, kb, 1100), 0);
    assert_int_equal(sched_device_complete(s, a, ka, 2000), 0); /* 1000 ns shared by two */
    assert_int_equal(sched_client_core_ns(a, 2000), 100 + 2000 + 1000);
    assert_int_equal(sched_client_core_ns(b, 2000), 100 + 1000);
    assert_int_equal(sched_device_complete(s, b, kb, 2500), 0); /* b alone: 2 x 500 */
    assert_int_equal(sched_client_core_ns(b, 9000), 100 + 1000 + 1000);
    assert_int_equal(sched_client_core_ns(a, 9000), 3100);
    sched_client_remove(s, a, 9000);
    sched_client_remove(s, b, 9000);
    sched_destroy(s);
    task_unref(ka);
    task_unref(kb);
}

/* Lookahead queues a client's short CPU tasks, never a device task, never on a held core. */
static void test_lookahead_never_queues_device_tasks(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 0, 4);
    uint32_t held[1] = {1};
    assert_int_equal(sched_add_device(s, OCL, 2, 64, 32, held, 1), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[64];
    size_t nt = 0;
    uint64_t now = 0;
    sched_grant_t g[16];
    /* warm up: 8 short CPU tasks, one at a time */
    for (int i = 0; i < 8; i++) {
        t[nt] = task_new(nt + 1, I_CPU, 1);
        sched_push_ready(s, c, t[nt], now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
        now += 10 * US;
        assert_int_equal(sched_task_finished(s, c, t[nt], now), 0);
        nt++;
    }
    /* a device task and then CPU tasks ready together; the device task first (priority) */
    task_t *k = task_new(nt + 1, I_OCL, 1);
    k->priority = 1;
    t[nt++] = k;
    sched_push_ready(s, c, k, now);
    for (int i = 0; i < 6; i++, nt++) {
        t[nt] = task_new(nt + 1, I_CPU, 1);
        sched_push_ready(s, c, t[nt], now);
    }
    size_t n = sched_dispatch(s, now, g, 16);
    /* the device task on core 0 (core 1 held), CPU tasks queued behind its body */
    assert_ptr_equal(g[0].task, k);
    assert_int_equal(k->cores[0], 0);
    assert_true(sched_device_cores_held(s, 0));
    assert_int_equal(n, 5);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(g[i].kind, CPU);
        assert_int_equal(g[i].task->cores[0], 0);
    }
    assert_int_equal(sched_core_queued(s, 0), 4);
    assert_int_equal(sched_core_queued(s, 1), 0);
    check_cores(s);

    /* now a device task behind CPU heads: it is not queued, it waits for a free core */
    task_t *k2 = task_new(nt + 1, I_OCL, 1);
    k2->priority = 1;
    t[nt++] = k2;
    sched_push_ready(s, c, k2, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(k2->state, TASK_READY);
    /* the head (k's body) returns: the first queued CPU task is promoted, k2 still waits */
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, c, k, now), 0);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(k2->state, TASK_READY);
    /* the queue drains; once core 0 is free, k2 is granted there (a plain grant) */
    for (int i = 0; i < 4; i++) {
        task_t *h = sched_core_task(s, 0);
        now += 10 * US;
        assert_int_equal(sched_task_finished(s, c, h, now), 0);
    }
    assert_null(sched_core_task(s, 0));
    assert_int_equal(sched_dispatch(s, now, g, 16), 3); /* k2, and the last 2 CPU tasks queued */
    assert_ptr_equal(g[0].task, k2);
    assert_int_equal(g[0].kind, OCL);
    assert_ptr_equal(sched_core_task(s, 0), k2);
    assert_int_equal(g[1].kind, CPU);
    assert_int_equal(g[2].kind, CPU);
    assert_int_equal(sched_core_queued(s, 0), 2);
    check_cores(s);
    sched_client_remove(s, c, now);
    sched_destroy(s);
    unref_all(t, nt);
}

/* A multi-version wide task: the CPU implementation needs 3 cores, a device grant takes one. */
static void test_wide_multi_version(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, SEC, 0);
    assert_int_equal(sched_add_device(s, CUDA, 1, 64, 32, NULL, 0), 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *busy[2] = {task_new(1, I_CPU, 1), task_new(2, I_CPU, 1)};
    task_t *w = task_new(3, I_CPU | I_CUDA, 3);
    sched_push_ready(s, a, busy[0], 0);
    sched_push_ready(s, a, busy[1], 0);
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 2);
    sched_push_ready(s, a, w, 0);
    /* 2 free cores: the CPU version does not fit, the CUDA one does */
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    assert_ptr_equal(g[0].task, w);
    assert_int_equal(g[0].kind, CUDA);
    assert_int_equal(w->ncores, 1);
    sched_client_remove(s, a, 10);
    sched_destroy(s);
    unref_all(busy, 2);
    task_unref(w);
}

/* A task offering only a kind with no device (the session rejects these; the scheduler skips). */
static void test_no_device_of_kind(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 0, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *k = task_new(1, I_CUDA, 1), *p = task_new(2, I_CPU, 1);
    sched_push_ready(s, a, k, 0);
    sched_push_ready(s, a, p, 0);
    sched_grant_t g[4];
    /* k cannot run anywhere; it does not hold up p, a CPU-only task behind it */
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    assert_ptr_equal(g[0].task, p);
    assert_int_equal(k->state, TASK_READY);
    assert_int_equal(sched_client_ready(a), 1);
    assert_int_equal(sched_free_cores(s), 1);
    sched_client_remove(s, a, 10);
    sched_destroy(s);
    task_unref(k);
    task_unref(p);
}

/* ---- randomized simulation ---- */

#define RD_CORES   4
#define RD_CLIENTS 3
#define RD_TASKS   6000
#define RD_LA      2

typedef struct rd_task {
    task_t *t;
    int client;
    uint64_t body_end, dev_end; /* 0 = not scheduled */
} rd_task_t;

typedef struct rd {
    sched_t *s;
    sched_client_t *c[RD_CLIENTS];
    int ids[RD_CLIENTS];
    rd_task_t task[RD_TASKS];
    size_t ntask;
    uint64_t rng, now;
    size_t grants[3], completions, removed;
} rd_t;

static uint64_t rd_rand(rd_t *r, uint64_t n)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng % n;
}

static void rd_check(rd_t *r)
{
    check_cores(r->s);
    uint32_t in_flight[2] = {0}, per[RD_CLIENTS][2] = {{0}};
    for (size_t i = 0; i < r->ntask; i++) {
        rd_task_t *x = &r->task[i];
        if (x->client < 0 || !x->t->on_device) continue;
        assert_true(x->t->grant_kind != CPU);
        assert_true(x->t->state == TASK_RUNNING || x->t->state == TASK_DEVICE);
        in_flight[x->t->device]++;
        per[x->client][x->t->device]++;
    }
    for (size_t d = 0; d < 2; d++) {
        assert_int_equal(sched_device_in_flight(r->s, d), in_flight[d]);
        assert_true(in_flight[d] <= sched_device_max_in_flight(r->s, d));
        for (int k = 0; k < RD_CLIENTS; k++) {
            if (!r->c[k]) continue;
            assert_int_equal(sched_client_device_in_flight(r->c[k], d), per[k][d]);
            assert_true(per[k][d] <= 3);
        }
    }
    /* the CPU device (0) holds its core exactly while it has work */
    assert_int_equal(sched_device_cores_held(r->s, 0), in_flight[0] > 0);
    /* every READY task is in its client's heaps (CPU-only or device-capable), and only those */
    size_t ready[RD_CLIENTS] = {0};
    for (size_t i = 0; i < r->ntask; i++)
        if (r->task[i].client >= 0 && r->task[i].t->state == TASK_READY) ready[r->task[i].client]++;
    for (int k = 0; k < RD_CLIENTS; k++)
        if (r->c[k]) assert_int_equal(sched_client_ready(r->c[k]), ready[k]);
}

static void rd_run_due(rd_t *r)
{
    for (size_t i = 0; i < r->ntask; i++) {
        rd_task_t *x = &r->task[i];
        if (x->client < 0) continue;
        sched_client_t *c = r->c[x->client];
        if (x->t->state == TASK_RUNNING && x->body_end && x->body_end <= r->now &&
            sched_core_task(r->s, x->t->cores[0]) == x->t) {
            assert_int_equal(sched_task_finished(r->s, c, x->t, r->now), 0);
            if (x->t->grant_kind == CPU) {
                x->t->state = TASK_DONE;
                x->client = -1;
            } else {
                assert_int_equal(x->t->state, TASK_DEVICE);
            }
        }
        if (x->client >= 0 && x->t->state == TASK_DEVICE && x->dev_end <= r->now) {
            assert_int_equal(sched_device_complete(r->s, c, x->t, r->now), 0);
            x->t->state = TASK_DONE;
            x->client = -1;
            r->completions++;
        }
    }
}

static void rd_dispatch(rd_t *r)
{
    sched_grant_t g[32];
    size_t n = sched_dispatch(r->s, r->now, g, 32);
    for (size_t k = 0; k < n; k++) {
        task_t *t = g[k].task;
        rd_task_t *x = NULL;
        for (size_t i = 0; i < r->ntask && !x; i++)
            if (r->task[i].t == t) x = &r->task[i];
        assert_non_null(x);
        assert_int_equal(g[k].kind, t->grant_kind);
        assert_true(t->impls == 0 || (t->impls & (1u << g[k].kind)));
        r->grants[g[k].kind]++;
        if (g[k].kind != CPU) {
            /* never queued: a device task heads its core, which no device holds */
            assert_ptr_equal(sched_core_task(r->s, t->cores[0]), t);
            assert_int_equal(sched_core_held_by(r->s, t->cores[0]), -1);
            assert_true(g[k].slot < 2);
        }
        /* bodies run back to back per core: approximate with a start at the core's last end */
        uint64_t body = (rd_rand(r, 10) + 1) * 50 * US;
        x->body_end = r->now + body * (1 + sched_core_queued(r->s, t->cores[0]));
        x->dev_end = x->body_end + (rd_rand(r, 20) + 1) * 100 * US;
    }
    rd_check(r);
}

static void test_random_devices(void **state)
{
    (void)state;
    rd_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->rng = 0x2545f4914f6cdd1du;
    r->s = sched_new(RD_CORES, 2 * MS, RD_LA);
    uint32_t held[1] = {3};
    assert_int_equal(sched_add_device(r->s, OCL, 2, 5, 3, held, 1), 0);
    assert_int_equal(sched_add_device(r->s, CUDA, 2, 4, 3, NULL, 0), 1);
    for (int k = 0; k < RD_CLIENTS; k++) {
        r->ids[k] = k;
        r->c[k] = sched_client_add(r->s, (uint32_t)k, "j", 1, &r->ids[k]);
    }
    static const uint32_t mixes[] = {
        I_CPU, I_CPU, I_OCL, I_CUDA, I_CPU | I_OCL, I_CPU | I_CUDA | I_OCL, I_CUDA | I_OCL, 0};
    for (size_t step = 0; step < 30000; step++) {
        r->now += (rd_rand(r, 8) + 1) * 25 * US;
        rd_run_due(r);
        rd_check(r);
        if (r->ntask < RD_TASKS && rd_rand(r, 3) == 0) {
            int k = (int)rd_rand(r, RD_CLIENTS);
            if (!r->c[k]) {
                r->c[k] = sched_client_add(r->s, (uint32_t)k, "j", 1, &r->ids[k]);
            } else if (rd_rand(r, 200) == 0) {
                /* a client leaves with work everywhere */
                sched_client_remove(r->s, r->c[k], r->now);
                r->c[k] = NULL;
                for (size_t i = 0; i < r->ntask; i++)
                    if (r->task[i].client == k) r->task[i].client = -1;
                r->removed++;
                rd_check(r);
            } else {
                rd_task_t *x = &r->task[r->ntask];
                uint32_t impls = mixes[rd_rand(r, sizeof mixes / sizeof mixes[0])];
                x->t =
                    task_new(r->ntask + 1, impls, impls == I_CPU ? 1 + (uint32_t)rd_rand(r, 2) : 1);
                x->client = k;
                r->ntask++;
                assert_int_equal(sched_push_ready(r->s, r->c[k], x->t, r->now), 0);
            }
        }
        rd_dispatch(r);
    }
    /* drain: everything still queued runs and completes */
    for (size_t guard = 0;; guard++) {
        assert_true(guard < 200000);
        int live = 0;
        for (size_t i = 0; i < r->ntask; i++)
            if (r->task[i].client >= 0) live = 1;
        if (!live) break;
        r->now += 100 * US;
        rd_run_due(r);
        rd_dispatch(r);
    }
    assert_true(r->grants[CPU] > 500);
    assert_true(r->grants[CUDA] > 300);
    assert_true(r->grants[OCL] > 300);
    assert_true(r->completions > 600);
    assert_true(r->removed > 0);
    assert_int_equal(sched_device_in_flight(r->s, 0), 0);
    assert_int_equal(sched_device_in_flight(r->s, 1), 0);
    assert_int_equal(sched_free_cores(r->s), RD_CORES);
    for (int k = 0; k < RD_CLIENTS; k++)
        if (r->c[k]) sched_client_remove(r->s, r->c[k], r->now);
    sched_destroy(r->s);
    for (size_t i = 0; i < r->ntask; i++)
        task_unref(r->task[i].t);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_device_rules),
        cmocka_unit_test(test_device_task_lifecycle),
        cmocka_unit_test(test_cpu_device_holds_cores),
        cmocka_unit_test(test_bodies_prefer_plain_cores),
        cmocka_unit_test(test_cpu_device_task_reserves),
        cmocka_unit_test(test_client_remove_in_flight),
        cmocka_unit_test(test_held_cores_charged),
        cmocka_unit_test(test_lookahead_never_queues_device_tasks),
        cmocka_unit_test(test_wide_multi_version),
        cmocka_unit_test(test_no_device_of_kind),
        cmocka_unit_test(test_random_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
