/*
 * sched_device_test_util.h: shared set-up for the unit tests of the scheduler's devices
 * (test_sched_device*.c): schedulers, tasks offering chosen implementations, and the core
 * accounting check.
 */
#ifndef SCHED_DEVICE_TEST_UTIL_H
#define SCHED_DEVICE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodus.h"
#include "sched.h"

#define US  (UINT64_C(1000))
#define MS  (UINT64_C(1000000))
#define SEC (1000 * MS)

enum { CPU = 0, CUDA = 1, OCL = 2 };
#define I_CPU  (1u << CPU)
#define I_CUDA (1u << CUDA)
#define I_OCL  (1u << OCL)

static inline sched_t *sched_new(size_t ncores, uint64_t reserve_after_ns, uint32_t lookahead)
{
    uint32_t cpus[64];
    for (size_t i = 0; i < ncores; i++)
        cpus[i] = (uint32_t)(100 + i);
    sched_config_t cfg = {
        .default_weight = 1,
        .max_weight = 8,
        .reserve_after_ns = reserve_after_ns,
        .lookahead = lookahead,
        .lookahead_max_ns = 200 * US,
    };
    sched_t *s = sched_create(cpus, ncores, &cfg);
    assert_non_null(s);
    return s;
}

static inline task_t *task_new(uint64_t id, uint32_t impls, uint32_t ncores)
{
    task_t *t = task_create(id, NULL);
    assert_non_null(t);
    t->state = TASK_READY;
    t->impls = impls;
    t->ncores = ncores;
    snprintf(t->label, sizeof t->label, "k%u", impls);
    return t;
}

static inline void unref_all(task_t **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        task_unref(t[i]);
}

/* Core accounting: every core is free, heads a body, or is held by a device. */
static inline void check_cores(sched_t *s)
{
    size_t ncores = sched_ncores(s), busy = 0, held = 0;
    for (size_t i = 0; i < ncores; i++) {
        int dev = sched_core_held_by(s, i);
        if (dev >= 0) {
            held++;
            assert_null(sched_core_task(s, i)); /* a held core runs no body */
            assert_int_equal(sched_core_queued(s, i), 0);
            assert_true(sched_device_cores_held(s, (size_t)dev));
        } else if (sched_core_task(s, i)) {
            busy++;
        }
    }
    assert_int_equal(sched_free_cores(s) + busy + held, ncores);
}

#endif
