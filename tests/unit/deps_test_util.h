/*
 * What the dependency-engine tests share (test_deps.c, test_deps_oracle.c): deps.c compiled into
 * the test with malloc/calloc/realloc redirected to wrappers that can be told to fail, so ENOMEM
 * paths are exercised deterministically (the symbols defined here take precedence over the copy
 * in nodus_core, which the linker then leaves out), and the log of tasks the engine made ready.
 * Include it once, from the test's .c file.
 */
#ifndef DEPS_TEST_UTIL_H
#define DEPS_TEST_UTIL_H

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

/* The order in which on_ready handed out tasks. */
typedef struct ready_log {
    task_t **v;
    size_t n, cap;
} ready_log_t;

static inline void log_ready(task_t *t, void *ctx)
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

/* Is s among p's successors? */
static inline bool has_succ(const task_t *p, const task_t *s)
{
    for (uint32_t i = 0; i < p->nsucc; i++)
        if (p->succ[i] == s) return true;
    return false;
}

#endif
