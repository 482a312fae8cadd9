/*
 * sched_test_util.h: shared set-up for the core scheduler's unit tests (test_sched*.c): a
 * simulated clock's units, schedulers with chosen fair-share and lookahead settings, and ready
 * tasks.
 */
#ifndef SCHED_TEST_UTIL_H
#define SCHED_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodus.h"
#include "sched.h"

#define US  (UINT64_C(1000))
#define MS  (UINT64_C(1000000))
#define SEC (1000 * MS)

/* The daemon's default lookahead: 4 tasks per core for sessions whose tasks average < 200 us. */
#define LOOKAHEAD_DEFAULT     4
#define LOOKAHEAD_MAX_DEFAULT (200 * US)

static inline sched_t *sched_new_full(size_t ncores, uint32_t default_weight, uint32_t max_weight,
                                      uint64_t reserve_after_ns, uint32_t lookahead,
                                      uint64_t lookahead_max_ns)
{
    uint32_t cpus[64];
    for (size_t i = 0; i < ncores; i++)
        cpus[i] = (uint32_t)(100 + i);
    sched_config_t cfg = {
        .default_weight = default_weight,
        .max_weight = max_weight,
        .reserve_after_ns = reserve_after_ns,
        .lookahead = lookahead,
        .lookahead_max_ns = lookahead_max_ns,
    };
    sched_t *s = sched_create(cpus, ncores, &cfg);
    assert_non_null(s);
    return s;
}

/*
 * With the default lookahead. The tests written before lookahead use 1-ms (or longer) tasks, or
 * fewer than 8 finished tasks per client, so lookahead must not change their outcome.
 */
static inline sched_t *sched_new(size_t ncores, uint32_t default_weight, uint32_t max_weight,
                                 uint64_t reserve_after_ns)
{
    return sched_new_full(ncores, default_weight, max_weight, reserve_after_ns, LOOKAHEAD_DEFAULT,
                          LOOKAHEAD_MAX_DEFAULT);
}

/* Weights 1..8, `lookahead` per core for tasks under 200 us. */
static inline sched_t *sched_new_la(size_t ncores, uint64_t reserve_after_ns, uint32_t lookahead)
{
    return sched_new_full(ncores, 1, 8, reserve_after_ns, lookahead, LOOKAHEAD_MAX_DEFAULT);
}

static inline task_t *ready_task(uint64_t id, int32_t priority, uint32_t ncores)
{
    task_t *t = task_create(id, NULL);
    assert_non_null(t);
    t->priority = priority;
    t->ncores = ncores;
    t->state = TASK_READY;
    return t;
}

/* A task running in a simulation, until `end`. */
typedef struct running {
    task_t *t;
    sched_client_t *c;
    uint64_t end;
} running_t;

#endif
