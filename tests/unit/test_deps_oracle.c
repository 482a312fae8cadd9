/*
 * The dependency engine (daemon/deps.c) against a brute-force oracle: random graphs of tasks
 * with random accesses, completed in random order, some deps_add calls failing for lack of
 * memory; every task must become ready exactly when every earlier task with a conflicting
 * access on a shared byte has completed. Shares deps_test_util.h with test_deps.c.
 */
#include "deps_test_util.h"

/* ---- randomised comparison with a brute-force oracle -------------------------------------- */

enum { ORACLE_TASKS = 2000, ORACLE_MAX_WORDS = 64 };

typedef struct oracle_task {
    task_t *t;
    uint64_t rd[ORACLE_MAX_WORDS], wr[ORACLE_MAX_WORDS]; /* bytes read / written */
    uint32_t pending;                                    /* earlier conflicting, not done */
    bool done;
} oracle_task_t;

static uint64_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static bool oracle_conflict(const oracle_task_t *a, const oracle_task_t *b, size_t words)
{
    for (size_t i = 0; i < words; i++)
        if ((a->wr[i] & (b->rd[i] | b->wr[i])) | (a->rd[i] & b->wr[i])) return true;
    return false;
}

/* The tasks the engine released since `from`, checked against the oracle's expectation. */
static void oracle_check_released(oracle_task_t *o, const ready_log_t *log, size_t from,
                                  const bool *expect, size_t nadded)
{
    size_t nexpect = 0;
    for (size_t j = 0; j < nadded; j++)
        nexpect += expect[j];
    assert_int_equal(log->n - from, nexpect);
    for (size_t k = from; k < log->n; k++) {
        size_t j = (size_t)log->v[k]->id - 1;
        assert_true(j < nadded && expect[j]);
        assert_int_equal(o[j].pending, 0);
    }
}

/*
 * Random tasks over a small address space, interleaving adds (some with an injected allocation
 * failure first) and completions of random ready tasks. A task must become ready exactly when
 * every earlier task with a conflicting access on a shared byte has completed.
 */
static void oracle_run(uint64_t seed, uint32_t space, uint32_t max_len, uint32_t base_shift)
{
    const size_t words = (space + 63) / 64;
    assert_true(words <= ORACLE_MAX_WORDS);
    const uint64_t base = (uint64_t)1 << base_shift;
    rng_state = seed;
    oracle_task_t *o = calloc(ORACLE_TASKS, sizeof *o);
    bool *expect = calloc(ORACLE_TASKS, sizeof *expect);
    size_t *ready = calloc(ORACLE_TASKS, sizeof *ready);
    assert_true(o && expect && ready);
    ready_log_t log = {0};
    deps_t *d = deps_create(log_ready, &log);
    assert_non_null(d);
    size_t nadded = 0, nready = 0, ndone = 0, seen = 0;
    unsigned long failures_before = alloc_failures;

    while (ndone < ORACLE_TASKS) {
        memset(expect, 0, ORACLE_TASKS * sizeof *expect);
        size_t from = log.n;
        if (nadded < ORACLE_TASKS && (nready == 0 || rng() % 3 != 0)) {
            size_t j = nadded++;
            deps_access_t acc[4];
            size_t nacc = rng() % 50 == 0 ? 0 : 1 + rng() % 4;
            for (size_t k = 0; k < nacc; k++) {
                uint32_t addr = rng() % space;
                uint32_t len = 1 + rng() % (max_len < space - addr ? max_len : space - addr);
                acc[k] = (deps_access_t){base + addr, len, (deps_mode_t)(1 + rng() % 3)};
                for (uint32_t b = addr; b < addr + len; b++) {
                    if (acc[k].mode & DEPS_IN) o[j].rd[b / 64] |= (uint64_t)1 << (b % 64);
                    if (acc[k].mode & DEPS_OUT) o[j].wr[b / 64] |= (uint64_t)1 << (b % 64);
                }
            }
            for (size_t i = 0; i < j; i++)
                o[j].pending += !o[i].done && oracle_conflict(&o[i], &o[j], words);
            o[j].t = task_create(j + 1, NULL);
            assert_non_null(o[j].t);
            if (rng() % 4 == 0) {
                alloc_budget = rng() % 6;
                int rc = deps_add(d, o[j].t, acc, nacc);
                alloc_budget = -1;
                if (rc != 0) {
                    assert_int_equal(rc, NODUS_ENOMEM);
                    assert_int_equal(o[j].t->state, TASK_WAITING);
                    assert_int_equal(o[j].t->npreds, 0);
                    assert_int_equal(log.n, from);
                    for (size_t i = 0; i < j; i++)
                        assert_false(has_succ(o[i].t, o[j].t));
                }
            }
            if (o[j].t->state == TASK_WAITING && o[j].t->npreds == 0)
                assert_int_equal(deps_add(d, o[j].t, acc, nacc), 0);
            expect[j] = o[j].pending == 0;
            oracle_check_released(o, &log, from, expect, nadded);
        } else {
            size_t k = rng() % nready;
            size_t i = ready[k];
            ready[k] = ready[--nready];
            o[i].done = true;
            ndone++;
            for (size_t j = i + 1; j < nadded; j++) {
                if (o[j].done || !oracle_conflict(&o[i], &o[j], words)) continue;
                assert_true(o[j].pending > 0);
                expect[j] = --o[j].pending == 0;
            }
            deps_complete(d, o[i].t);
            oracle_check_released(o, &log, from, expect, nadded);
        }
        for (; seen < log.n; seen++)
            ready[nready++] = (size_t)log.v[seen]->id - 1;
    }
    assert_int_equal(log.n, ORACLE_TASKS);
    assert_true(alloc_failures > failures_before); /* the failure paths did run */
    assert_true(deps_segments(d) <= space);        /* segments are disjoint, >= 1 byte */
    deps_destroy(d);
    for (size_t j = 0; j < ORACLE_TASKS; j++) {
        assert_int_equal(o[j].t->refs, 1);
        task_unref(o[j].t);
    }
    free(log.v);
    free(ready);
    free(expect);
    free(o);
}

/* Small spaces make long conflict chains; the large one has partial overlaps of long ranges. */
static void test_oracle(void **state)
{
    oracle_run(0x9e3779b97f4a7c15ull, 64, 16, 12);
    oracle_run(0x243f6a8885a308d3ull, 512, 64, 40);
    oracle_run(0xb7e151628aed2a6bull, 4096, 700, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle),
    };
    return cmocka_run_group_tests_name("deps_oracle", tests, NULL, NULL);
}
