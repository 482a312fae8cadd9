/*
 * Unit tests for placement (daemon/placement.c): the model table, calibration round-robin,
 * earliest-finish choice, the backlog effect, tie-breaking and the least-loaded slot; and, through
 * the scheduler, the per-device and per-session capacity bounds that decide which options exist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodus.h"
#include "placement.h"
#include "sched.h"

#define US (UINT64_C(1000))
#define MS (UINT64_C(1000000))

enum { CPU = 0, CUDA = 1, OCL = 2 };

static void test_label_hash(void **state)
{
    (void)state;
    assert_int_not_equal(placement_label_hash(""), 0);
    assert_int_not_equal(placement_label_hash(NULL), 0);
    assert_int_equal(placement_label_hash("gemm"), placement_label_hash("gemm"));
    assert_int_not_equal(placement_label_hash("gemm"), placement_label_hash("gemv"));
}

static void test_models_table(void **state)
{
    (void)state;
    placement_models_t m;
    placement_models_init(&m);
    assert_null(placement_models_find(&m, 5));
    /* enough labels to grow the table several times; every model keeps its own numbers */
    for (uint64_t h = 1; h <= 200; h++)
        assert_int_equal(placement_models_sample(&m, h * 0x9e3779b97f4a7c15u, CPU, h), 0);
    assert_int_equal(m.count, 200);
    for (uint64_t h = 1; h <= 200; h++) {
        placement_model_t *e = placement_models_find(&m, h * 0x9e3779b97f4a7c15u);
        assert_non_null(e);
        assert_int_equal(e->samples[CPU], 1);
        assert_int_equal(e->ema_ns[CPU], h);
        assert_int_equal(e->samples[OCL], 0);
    }
    assert_int_equal(placement_models_sample(&m, 1, 3, 10), NODUS_EINVAL);
    placement_models_free(&m);
    assert_null(placement_models_find(&m, 1));
}

static void test_ema(void **state)
{
    (void)state;
    uint64_t ema = 0;
    uint32_t n = 0;
    placement_ema_add(&ema, &n, 100);
    assert_int_equal(ema, 100); /* the first sample is the average */
    placement_ema_add(&ema, &n, 500);
    assert_int_equal(ema, 200); /* (3 * 100 + 500) / 4 */
    assert_int_equal(n, 2);
    placement_model_t m = {0};
    assert_int_equal(placement_estimate(&m, OCL, 77), 77); /* no sample: the fallback */
    assert_int_equal(placement_estimate(NULL, OCL, 7), 7);
    m.samples[OCL] = 1;
    m.ema_ns[OCL] = 9;
    assert_int_equal(placement_estimate(&m, OCL, 77), 9);
}

/* A model calibrated on every kind with these averages. */
static placement_model_t calibrated(uint64_t cpu, uint64_t cuda, uint64_t ocl)
{
    placement_model_t m = {.label_hash = 1};
    uint64_t t[3] = {cpu, cuda, ocl};
    for (int k = 0; k < 3; k++) {
        m.ema_ns[k] = t[k];
        m.samples[k] = PLACEMENT_CALIBRATION;
    }
    return m;
}

static void test_calibration_round_robin(void **state)
{
    (void)state;
    placement_option_t o[3] = {
        {.kind = CPU, .backlog_ns = 0},
        {.kind = OCL, .backlog_ns = 0},
        {.kind = CUDA, .backlog_ns = 0},
    };
    placement_model_t m = {.label_hash = 1};
    /* nothing measured: CPU, CUDA, OpenCL in turn, whatever the options' order */
    int seen[3] = {0};
    uint32_t order[6];
    for (int i = 0; i < 6; i++) {
        size_t k = placement_choose(o, 3, &m);
        order[i] = o[k].kind;
        seen[o[k].kind]++;
    }
    assert_int_equal(order[0], CPU);
    assert_int_equal(order[1], CUDA);
    assert_int_equal(order[2], OCL);
    assert_int_equal(order[3], CPU);
    assert_int_equal(seen[CPU], 2);
    assert_int_equal(seen[CUDA], 2);
    assert_int_equal(seen[OCL], 2);

    /* CPU calibrated, even as the fastest by far: the unexplored kinds still come first */
    m = (placement_model_t){.label_hash = 1};
    m.samples[CPU] = 3;
    m.ema_ns[CPU] = 1;
    m.samples[OCL] = 2; /* two samples are not enough */
    m.ema_ns[OCL] = 1000 * MS;
    for (int i = 0; i < 4; i++) {
        size_t k = placement_choose(o, 3, &m);
        assert_int_not_equal(o[k].kind, CPU);
        assert_int_equal(o[k].kind, i % 2 == 0 ? CUDA : OCL);
    }
    /* an unexplored kind that has no capacity now (not among the options) is not waited for */
    assert_int_equal(o[placement_choose(o, 1, &m)].kind, CPU);

    /* deciding changes nothing; committing moves the cursor only past a kind being explored */
    m = (placement_model_t){.label_hash = 1};
    assert_int_equal(o[placement_decide(o, 3, &m)].kind, CPU);
    assert_int_equal(o[placement_decide(o, 3, &m)].kind, CPU);
    assert_int_equal(m.explore_next, CPU);
    placement_commit(&m, CPU);
    assert_int_equal(m.explore_next, CUDA);
    assert_int_equal(o[placement_decide(o, 3, &m)].kind, CUDA);
    m.samples[OCL] = 3;
    placement_commit(&m, OCL); /* calibrated: no exploration to record */
    assert_int_equal(m.explore_next, CUDA);
    placement_commit(NULL, CPU);

    /* exploring among devices of one kind: the least backlog */
    placement_option_t two[2] = {{.kind = OCL, .backlog_ns = 50}, {.kind = OCL, .backlog_ns = 10}};
    m = (placement_model_t){.label_hash = 1};
    assert_int_equal(placement_choose(two, 2, &m), 1);
}

static void test_earliest_finish(void **state)
{
    (void)state;
    placement_option_t o[3] = {
        {.kind = CPU, .backlog_ns = 0},
        {.kind = CUDA, .backlog_ns = 0},
        {.kind = OCL, .backlog_ns = 0},
    };
    placement_model_t m = calibrated(10 * MS, 1 * MS, 3 * MS);
    assert_int_equal(o[placement_choose(o, 3, &m)].kind, CUDA);
    m = calibrated(2 * MS, 5 * MS, 3 * MS);
    assert_int_equal(o[placement_choose(o, 3, &m)].kind, CPU);
    m = calibrated(9 * MS, 5 * MS, 3 * MS);
    assert_int_equal(o[placement_choose(o, 3, &m)].kind, OCL);
    /* a choice does not move a calibrated model */
    assert_int_equal(m.explore_next, 0);
    /* no model at all: every estimate is 0, the least backlog wins */
    o[0].backlog_ns = 5;
    o[2].backlog_ns = 1;
    o[1].backlog_ns = 3;
    assert_int_equal(o[placement_choose(o, 3, NULL)].kind, OCL);
}

static void test_backlog_effect(void **state)
{
    (void)state;
    /* the device runs the task in 2 ms, the CPU in 10 ms */
    placement_model_t m = calibrated(10 * MS, 0, 2 * MS);
    placement_option_t o[2] = {{.kind = CPU, .backlog_ns = 0}, {.kind = OCL, .backlog_ns = 0}};
    assert_int_equal(o[placement_choose(o, 2, &m)].kind, OCL);
    /* 7 ms of work queued on it: 9 < 10, still the device */
    o[1].backlog_ns = 7 * MS;
    assert_int_equal(o[placement_choose(o, 2, &m)].kind, OCL);
    /* 9 ms queued: 11 > 10, the CPU finishes first */
    o[1].backlog_ns = 9 * MS;
    assert_int_equal(o[placement_choose(o, 2, &m)].kind, CPU);
    /* two devices of one kind: the less loaded one */
    placement_option_t d[3] = {
        {.kind = OCL, .backlog_ns = 4 * MS, .load = 2},
        {.kind = OCL, .backlog_ns = 1 * MS, .load = 9},
        {.kind = CPU, .backlog_ns = 0},
    };
    assert_int_equal(placement_choose(d, 3, &m), 1);
    /* equal finish: fewer in flight, then the first */
    d[0].backlog_ns = d[1].backlog_ns;
    assert_int_equal(placement_choose(d, 3, &m), 0);
    d[0].load = d[1].load;
    assert_int_equal(placement_choose(d, 3, &m), 0);
    /* saturation: an absurd backlog does not wrap around to look free */
    d[0].backlog_ns = UINT64_MAX;
    d[1].backlog_ns = UINT64_MAX - 1;
    assert_int_equal(d[placement_choose(d, 3, &m)].kind, CPU);
}

static void test_least_loaded_slot(void **state)
{
    (void)state;
    uint32_t load[4] = {2, 1, 1, 3};
    assert_int_equal(placement_slot(load, 4), 1);
    load[1] = 5;
    assert_int_equal(placement_slot(load, 4), 2);
    uint32_t one[1] = {9};
    assert_int_equal(placement_slot(one, 1), 0);
    uint32_t zero[3] = {0, 0, 0};
    assert_int_equal(placement_slot(zero, 3), 0);
}

/* ---- through the scheduler: which options have capacity ---- */

static task_t *dev_task(uint64_t id, uint32_t impls, const char *label)
{
    task_t *t = task_create(id, NULL);
    assert_non_null(t);
    t->state = TASK_READY;
    t->impls = impls;
    snprintf(t->label, sizeof t->label, "%s", label);
    return t;
}

/* Per-device and per-session bounds: a full device is skipped, a session at its bound waits. */
static void test_capacity_bounds(void **state)
{
    (void)state;
    uint32_t cpus[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    sched_config_t cfg = {.default_weight = 1, .max_weight = 8};
    sched_t *s = sched_create(cpus, 8, &cfg);
    assert_non_null(s);
    /* two CUDA devices: the first takes 3 in flight, 2 per session; the second 1 */
    assert_int_equal(sched_add_device(s, CUDA, 2, 3, 2, NULL, 0), 0);
    assert_int_equal(sched_add_device(s, CUDA, 1, 1, 1, NULL, 0), 1);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    task_t *ta[4], *tb[2];
    for (int i = 0; i < 4; i++) {
        ta[i] = dev_task((uint64_t)i + 1, 1u << CUDA, "k");
        assert_int_equal(sched_push_ready(s, a, ta[i], 0), 0);
    }
    sched_grant_t g[8];
    /* a: 2 on device 0 (its per-session bound), 1 on device 1, the fourth waits */
    size_t n = sched_dispatch(s, 0, g, 8);
    assert_int_equal(n, 3);
    assert_int_equal(sched_device_in_flight(s, 0), 2);
    assert_int_equal(sched_device_in_flight(s, 1), 1);
    assert_int_equal(sched_client_device_in_flight(a, 0), 2);
    assert_int_equal(sched_client_device_in_flight(a, 1), 1);
    assert_int_equal(ta[3]->state, TASK_READY);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(g[k].kind, CUDA);
        assert_int_equal(g[k].task->grant_kind, CUDA);
        assert_int_equal(g[k].task->ncores, 1);
    }
    /* slots on device 0: one task on each */
    assert_int_equal(sched_device_slot_load(s, 0, 0), 1);
    assert_int_equal(sched_device_slot_load(s, 0, 1), 1);
    /* b still gets device 0's third place; then device 0 is full, device 1 too */
    for (int i = 0; i < 2; i++) {
        tb[i] = dev_task((uint64_t)i + 1, 1u << CUDA, "k");
        assert_int_equal(sched_push_ready(s, b, tb[i], 0), 0);
    }
    n = sched_dispatch(s, 1, g, 8);
    assert_int_equal(n, 1);
    assert_ptr_equal(g[0].task, tb[0]);
    assert_int_equal(g[0].device, 0);
    assert_int_equal(sched_device_in_flight(s, 0), 3);
    assert_int_equal(sched_dispatch(s, 2, g, 8), 0);
    /* cores are not the limit: 4 of 8 are busy with bodies */
    assert_int_equal(sched_free_cores(s), 4);

    /* a's body on device 1 returns, then its device work completes: b's second task goes there */
    task_t *on1 = NULL;
    for (int i = 0; i < 3; i++)
        if (ta[i]->device == 1) on1 = ta[i];
    assert_non_null(on1);
    assert_int_equal(sched_task_finished(s, a, on1, 10), 0);
    assert_int_equal(on1->state, TASK_DEVICE);
    assert_int_equal(sched_dispatch(s, 10, g, 8), 0); /* still in flight: no room */
    assert_int_equal(sched_device_complete(s, a, on1, 20), 0);
    n = sched_dispatch(s, 20, g, 8);
    /* fair share: b has used less, so b's task takes device 1 (a is at its bound on 0 anyway) */
    assert_int_equal(n, 1);
    assert_ptr_equal(g[0].task, tb[1]);
    assert_int_equal(g[0].device, 1);

    sched_client_remove(s, a, 30);
    sched_client_remove(s, b, 30);
    assert_int_equal(sched_device_in_flight(s, 0), 0);
    assert_int_equal(sched_device_in_flight(s, 1), 0);
    sched_destroy(s);
    for (int i = 0; i < 4; i++)
        task_unref(ta[i]);
    for (int i = 0; i < 2; i++)
        task_unref(tb[i]);
}

/* Multi-version tasks through the scheduler: calibration, then the model and the backlog. */
static void test_sched_calibration_then_model(void **state)
{
    (void)state;
    uint32_t cpus[4] = {0, 1, 2, 3};
    sched_config_t cfg = {.default_weight = 1, .max_weight = 8};
    sched_t *s = sched_create(cpus, 4, &cfg);
    assert_int_equal(sched_add_device(s, OCL, 4, 64, 32, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[40];
    uint64_t now = 0;
    int on_cpu = 0, on_dev = 0;
    /* one task at a time: CPU takes 10 ms, the device 2 ms (grant to completion) */
    for (int i = 0; i < 40; i++) {
        t[i] = dev_task((uint64_t)i + 1, (1u << CPU) | (1u << OCL), "mv");
        assert_int_equal(sched_push_ready(s, c, t[i], now), 0);
        sched_grant_t g[2];
        assert_int_equal(sched_dispatch(s, now, g, 2), 1);
        if (g[0].kind == CPU) {
            on_cpu++;
            now += 10 * MS;
            assert_int_equal(sched_task_finished(s, c, t[i], now), 0);
            assert_int_equal(t[i]->state, TASK_RUNNING);
        } else {
            on_dev++;
            assert_int_equal(g[0].kind, OCL);
            now += 100 * US;
            assert_int_equal(sched_task_finished(s, c, t[i], now), 0);
            now += 1900 * US;
            assert_int_equal(sched_device_complete(s, c, t[i], now), 0);
        }
        if (i < 6) assert_int_equal(g[0].kind, i % 2 == 0 ? CPU : OCL); /* round-robin */
    }
    /* three CPU samples, then the device every time */
    assert_int_equal(on_cpu, 3);
    assert_int_equal(on_dev, 37);
    assert_int_equal(sched_device_completed(s, 0), 37);
    sched_client_remove(s, c, now);
    sched_destroy(s);
    for (int i = 0; i < 40; i++)
        task_unref(t[i]);
}

/* A device loaded with long tasks loses to the CPU once its backlog passes the CPU time. */
static void test_sched_backlog_sends_work_to_cpu(void **state)
{
    (void)state;
    uint32_t cpus[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    sched_config_t cfg = {.default_weight = 1, .max_weight = 8};
    sched_t *s = sched_create(cpus, 8, &cfg);
    assert_int_equal(sched_add_device(s, OCL, 1, 64, 64, NULL, 0), 0);
    sched_client_t *c = sched_client_add(s, 1, "a", 1, NULL);
    task_t *cal[6];
    uint64_t now = 0;
    /* calibrate: CPU 5 ms, device 2 ms */
    for (int i = 0; i < 6; i++) {
        cal[i] = dev_task((uint64_t)i + 1, (1u << CPU) | (1u << OCL), "mv");
        sched_push_ready(s, c, cal[i], now);
        sched_grant_t g[1];
        assert_int_equal(sched_dispatch(s, now, g, 1), 1);
        now += g[0].kind == CPU ? 5 * MS : 2 * MS;
        sched_task_finished(s, c, cal[i], now);
        if (g[0].kind != CPU) sched_device_complete(s, c, cal[i], now);
    }
    /* now 8 at once: the device's backlog grows by 2 ms a task; past 5 ms the CPU is quicker */
    task_t *t[8];
    for (int i = 0; i < 8; i++) {
        t[i] = dev_task((uint64_t)i + 7, (1u << CPU) | (1u << OCL), "mv");
        sched_push_ready(s, c, t[i], now);
    }
    sched_grant_t g[8];
    size_t n = sched_dispatch(s, now, g, 8);
    assert_int_equal(n, 8);
    /* backlogs seen: 0, 2, 4 -> device (finish 2, 4, 6 < 5? no: 6 > 5 -> CPU) */
    int dev = 0;
    for (size_t k = 0; k < n; k++)
        dev += g[k].kind == OCL;
    assert_int_equal(dev, 2); /* backlog 0 and 2 ms: 2 and 4 ms < 5 ms; at 4 ms backlog, 6 > 5 */
    assert_int_equal(g[0].kind, OCL);
    assert_int_equal(g[1].kind, OCL);
    for (size_t k = 2; k < n; k++)
        assert_int_equal(g[k].kind, CPU);
    sched_client_remove(s, c, now);
    sched_destroy(s);
    for (int i = 0; i < 6; i++)
        task_unref(cal[i]);
    for (int i = 0; i < 8; i++)
        task_unref(t[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_hash),
        cmocka_unit_test(test_models_table),
        cmocka_unit_test(test_ema),
        cmocka_unit_test(test_calibration_round_robin),
        cmocka_unit_test(test_earliest_finish),
        cmocka_unit_test(test_backlog_effect),
        cmocka_unit_test(test_least_loaded_slot),
        cmocka_unit_test(test_capacity_bounds),
        cmocka_unit_test(test_sched_calibration_then_model),
        cmocka_unit_test(test_sched_backlog_sends_work_to_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
