/*
 * taskmap: insert, find, remove, growth, and a long randomized run checked against a plain
 * reference array, with deletions mixed in so backward shifting is exercised across wrapped
 * probe runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "nodus.h"
#include "taskmap.h"

/* Tasks are only stored, never dereferenced: distinct fake pointers are enough. */
#define FAKE(id) ((task_t *)(uintptr_t)(0x10000u + (uintptr_t)(id)*64u))

static void test_empty(void **state)
{
    (void)state;
    taskmap_t m;
    taskmap_init(&m);
    assert_int_equal(taskmap_count(&m), 0);
    assert_null(taskmap_find(&m, 1));
    assert_null(taskmap_remove(&m, 1));
    assert_null(taskmap_find(&m, 0));
    taskmap_free(&m);
}

static void test_insert_find_remove(void **state)
{
    (void)state;
    taskmap_t m;
    taskmap_init(&m);
    assert_int_equal(taskmap_insert(&m, 7, FAKE(7)), 0);
    assert_int_equal(taskmap_insert(&m, 8, FAKE(8)), 0);
    assert_int_equal(taskmap_count(&m), 2);
    assert_ptr_equal(taskmap_find(&m, 7), FAKE(7));
    assert_ptr_equal(taskmap_find(&m, 8), FAKE(8));
    assert_null(taskmap_find(&m, 9));
    /* duplicates and id 0 are refused and change nothing */
    assert_int_equal(taskmap_insert(&m, 7, FAKE(1)), NODUS_EINVAL);
    assert_int_equal(taskmap_insert(&m, 0, FAKE(1)), NODUS_EINVAL);
    assert_int_equal(taskmap_count(&m), 2);
    assert_ptr_equal(taskmap_find(&m, 7), FAKE(7));

    assert_ptr_equal(taskmap_remove(&m, 7), FAKE(7));
    assert_null(taskmap_find(&m, 7));
    assert_null(taskmap_remove(&m, 7));
    assert_ptr_equal(taskmap_find(&m, 8), FAKE(8));
    assert_int_equal(taskmap_count(&m), 1);
    /* an id can come back after removal */
    assert_int_equal(taskmap_insert(&m, 7, FAKE(70)), 0);
    assert_ptr_equal(taskmap_find(&m, 7), FAKE(70));
    taskmap_free(&m);
    assert_int_equal(taskmap_count(&m), 0);
}

static void test_grow_sequential(void **state)
{
    (void)state;
    enum { N = 200000 };
    taskmap_t m;
    taskmap_init(&m);
    for (uint64_t id = 1; id <= N; id++)
        assert_int_equal(taskmap_insert(&m, id, FAKE(id)), 0);
    assert_int_equal(taskmap_count(&m), N);
    assert_true(m.cap >= N + N / 3); /* load factor kept at most 3/4 */
    for (uint64_t id = 1; id <= N; id++)
        assert_ptr_equal(taskmap_find(&m, id), FAKE(id));
    assert_null(taskmap_find(&m, N + 1));
    /* remove the odd ones, then every even one is still found */
    for (uint64_t id = 1; id <= N; id += 2)
        assert_ptr_equal(taskmap_remove(&m, id), FAKE(id));
    assert_int_equal(taskmap_count(&m), N / 2);
    for (uint64_t id = 1; id <= N; id++) {
        if (id % 2)
            assert_null(taskmap_find(&m, id));
        else
            assert_ptr_equal(taskmap_find(&m, id), FAKE(id));
    }
    taskmap_free(&m);
}

/* A session's pattern: ids arrive in order, complete roughly in order, a window stays live. */
static void test_sliding_window(void **state)
{
    (void)state;
    enum { WINDOW = 1000, TOTAL = 300000 };
    taskmap_t m;
    taskmap_init(&m);
    for (uint64_t id = 1; id <= TOTAL; id++) {
        assert_int_equal(taskmap_insert(&m, id, FAKE(id % 4096)), 0);
        if (id > WINDOW)
            assert_ptr_equal(taskmap_remove(&m, id - WINDOW), FAKE((id - WINDOW) % 4096));
    }
    assert_int_equal(taskmap_count(&m), WINDOW);
    /* the table did not grow with the total: deletions leave no tombstones behind */
    assert_true(m.cap <= 4 * WINDOW);
    for (uint64_t id = TOTAL - WINDOW + 1; id <= TOTAL; id++)
        assert_ptr_equal(taskmap_find(&m, id), FAKE(id % 4096));
    taskmap_free(&m);
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void test_randomized(void **state)
{
    (void)state;
    /* a small key space makes collisions, re-inserts and long probe runs frequent */
    enum { KEYS = 5000, OPS = 400000 };
    task_t **ref = calloc(KEYS + 1, sizeof *ref);
    assert_non_null(ref);
    size_t live = 0;
    taskmap_t m;
    taskmap_init(&m);
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rng();
        uint64_t id = 1 + (r >> 8) % KEYS;
        /* drift between insert-heavy and remove-heavy phases so the table grows and drains */
        int insert_bias = (op / 50000) % 2 ? 3 : 7;
        if ((r & 0xF) < (uint64_t)insert_bias + 4) {
            task_t *t = FAKE((r >> 40) % 4096 + 1);
            int rc = taskmap_insert(&m, id, t);
            if (ref[id]) {
                assert_int_equal(rc, NODUS_EINVAL);
            } else {
                assert_int_equal(rc, 0);
                ref[id] = t;
                live++;
            }
        } else if ((r & 0xF) < 13) {
            assert_ptr_equal(taskmap_remove(&m, id), ref[id]);
            if (ref[id]) {
                ref[id] = NULL;
                live--;
            }
        } else {
            assert_ptr_equal(taskmap_find(&m, id), ref[id]);
        }
        assert_int_equal(taskmap_count(&m), live);
        if (op % 20000 == 0)
            for (uint64_t k = 1; k <= KEYS; k++)
                assert_ptr_equal(taskmap_find(&m, k), ref[k]);
    }
    for (uint64_t k = 1; k <= KEYS; k++)
        assert_ptr_equal(taskmap_find(&m, k), ref[k]);
    taskmap_free(&m);
    free(ref);
}

/*
 * A table kept at its fullest (48 of 64 slots) under churn: long probe runs that wrap around
 * the end of the table, so removal must shift wrapped runs correctly, and no growth.
 */
static void test_dense_table_churn(void **state)
{
    (void)state;
    enum { SLOTS = 64, FULL = SLOTS * 3 / 4, ROUNDS = 20000 };
    uint64_t ids[FULL];
    taskmap_t m;
    taskmap_init(&m);
    for (size_t i = 0; i < FULL; i++) {
        ids[i] = 1 + rng() % 1000000;
        if (taskmap_insert(&m, ids[i], FAKE(ids[i])) < 0) i--; /* duplicate id drawn: draw again */
    }
    assert_int_equal(m.cap, SLOTS);
    for (int r = 0; r < ROUNDS; r++) {
        size_t i = rng() % FULL;
        assert_ptr_equal(taskmap_remove(&m, ids[i]), FAKE(ids[i]));
        assert_null(taskmap_find(&m, ids[i]));
        do
            ids[i] = 1 + rng() % 1000000;
        while (taskmap_find(&m, ids[i]));
        assert_int_equal(taskmap_insert(&m, ids[i], FAKE(ids[i])), 0);
        for (size_t k = 0; k < FULL; k++)
            assert_ptr_equal(taskmap_find(&m, ids[k]), FAKE(ids[k]));
    }
    assert_int_equal(m.cap, SLOTS);
    assert_int_equal(taskmap_count(&m), FULL);
    taskmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_grow_sequential), cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_randomized),      cmocka_unit_test(test_dense_table_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
