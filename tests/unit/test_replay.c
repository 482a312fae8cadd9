/*
 * replay (libnodus, client-lib/src/replay.c): what a reconnect resubmits and the id map.
 * Batches are kept as packed and let go when their tasks complete; a rebuild takes exactly the
 * never-started tasks in submission order (with their accesses and labels), numbers them 1..R for
 * the new daemon session and continues the sequence with the first id never packed; a second
 * rebuild (a second crash) works from the first one's batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "replay.h"
#include "submit.h"

static void body(void *arg)
{
    (void)arg;
}

/* A session with just what replay.c touches. */
static nodus_t *session_new(void)
{
    nodus_t *n = calloc(1, sizeof *n);
    assert_non_null(n);
    pthread_mutex_init(&n->lock, NULL);
    table_init(&n->table);
    n->next_id = 1;
    assert_int_equal(replay_open(n), 0);
    return n;
}

static void session_free(nodus_t *n)
{
    replay_close(n);
    table_free(&n->table);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

/* Submits tasks first..last into `b`: task i has i % 3 accesses at address 0x1000 * i and, when
 * i is even, the label "t<i>". */
static void submit(nodus_t *n, submit_buf_t *b, uint64_t first, uint64_t last)
{
    nodus_task_fn fns[3] = {body, NULL, NULL};
    for (uint64_t id = first; id <= last; id++) {
        assert_int_equal(id, n->next_id);
        assert_int_equal(table_insert(&n->table, id, fns, NULL, 1, id % 5 == 0), 0);
        n->next_id++;
        char label[32] = "";
        if (id % 2 == 0) snprintf(label, sizeof label, "t%llu", (unsigned long long)id);
        size_t na = id % 3, ll = strlen(label);
        b->tasks = realloc(b->tasks, (b->ntasks + 1) * sizeof *b->tasks);
        b->accesses = realloc(b->accesses, (b->naccesses + na) * sizeof *b->accesses);
        b->labels = realloc(b->labels, b->labels_len + ll + 1);
        b->tasks_cap = b->ntasks + 1;
        b->accesses_cap = b->naccesses + na;
        b->labels_cap = b->labels_len + ll + 1;
        pending_task_t *t = &b->tasks[b->ntasks++];
        *t = (pending_task_t){.id = id,
                              .priority = (int32_t)id,
                              .ncores = 1,
                              .first_access = (uint32_t)b->naccesses,
                              .naccesses = (uint32_t)na,
                              .label_off = UINT32_MAX};
        for (size_t a = 0; a < na; a++) {
            Nodus__V1__Access acc = NODUS__V1__ACCESS__INIT;
            acc.addr = 0x1000u * id + a;
            acc.len = 8;
            acc.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT;
            b->accesses[b->naccesses++] = acc;
        }
        if (ll) {
            t->label_off = (uint32_t)b->labels_len;
            memcpy(b->labels + b->labels_len, label, ll + 1);
            b->labels_len += ll + 1;
        }
    }
}

/* Task `id` completed (as done_batch_pack() forgets it). */
static void complete(nodus_t *n, uint64_t id)
{
    assert_int_equal(table_complete(&n->table, id, n->next_id), 0);
    replay_release(n->replay, id);
}

static void set_state(nodus_t *n, uint64_t id, task_entry_state_t state)
{
    task_entry_t *e = table_lookup(&n->table, id);
    assert_non_null(e);
    e->state = (uint8_t)state;
}

static void count_live(nodus_t *n, task_entry_t *e, uint64_t id, void *data)
{
    (void)n;
    (void)e;
    (void)id;
    (*(size_t *)data)++;
}

static size_t kept_live(nodus_t *n)
{
    size_t count = 0;
    replay_foreach_locked(n, count_live, &count);
    return count;
}

static void test_identity_before_reconnect(void **state)
{
    (void)state;
    nodus_t *n = session_new();
    for (uint64_t id = 1; id < 100000; id += 997) {
        assert_int_equal(replay_wire_of(n->replay, id), id);
        assert_int_equal(replay_local_of(n->replay, id), id);
    }
    assert_int_equal(replay_local_of(n->replay, 0), 0);
    session_free(n);
}

static void test_batches_let_go(void **state)
{
    (void)state;
    nodus_t *n = session_new();
    submit_buf_t b;
    submit_buf_init(&b);
    submit(n, &b, 1, 10);
    assert_int_equal(replay_keep(n->replay, &b), 0);
    assert_int_equal(b.ntasks, 0); /* an empty buffer back */
    submit(n, &b, 11, 20);
    assert_int_equal(replay_keep(n->replay, &b), 0);
    assert_int_equal(kept_live(n), 20);
    /* the second batch completes first, out of order */
    for (uint64_t id = 20; id >= 11; id--)
        complete(n, id);
    assert_int_equal(kept_live(n), 10);
    for (uint64_t id = 1; id <= 9; id++)
        complete(n, id);
    assert_int_equal(kept_live(n), 1);
    complete(n, 10);
    assert_int_equal(kept_live(n), 0);
    submit_buf_free(&b);
    session_free(n);
}

static void test_rebuild(void **state)
{
    (void)state;
    nodus_t *n = session_new();
    submit_buf_t b, out;
    submit_buf_init(&b);
    submit_buf_init(&out);
    submit(n, &b, 1, 10);
    assert_int_equal(replay_keep(n->replay, &b), 0);
    submit(n, &b, 11, 20);
    assert_int_equal(replay_keep(n->replay, &b), 0);
    /* at the crash: 1-4 and 12 completed, 5 and 13 had started (complete once the bodies
     * return), the others never started; 21-25 were submitted but never packed */
    for (uint64_t id = 1; id <= 4; id++)
        complete(n, id);
    complete(n, 12);
    set_state(n, 5, TASK_ENTRY_GRANTED);
    set_state(n, 13, TASK_ENTRY_GRANTED);
    complete(n, 5);
    complete(n, 13);
    submit(n, &b, 21, 25); /* stays pending: not kept */

    assert_int_equal(replay_rebuild(n, &out, 21), 0);
    const uint64_t expect[] = {6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19, 20};
    size_t r = sizeof expect / sizeof expect[0];
    assert_int_equal(out.ntasks, r);
    for (size_t i = 0; i < r; i++) {
        const pending_task_t *t = &out.tasks[i];
        assert_int_equal(t->id, expect[i]);
        assert_int_equal(t->priority, (int32_t)expect[i]);
        assert_int_equal(t->naccesses, expect[i] % 3);
        for (uint32_t a = 0; a < t->naccesses; a++)
            assert_int_equal(out.accesses[t->first_access + a].addr, 0x1000u * expect[i] + a);
        if (expect[i] % 2 == 0) {
            char label[32];
            snprintf(label, sizeof label, "t%llu", (unsigned long long)expect[i]);
            assert_string_equal(out.labels + t->label_off, label);
        } else {
            assert_int_equal(t->label_off, UINT32_MAX);
        }
        /* the new session numbers them 1..R */
        assert_int_equal(replay_wire_of(n->replay, expect[i]), i + 1);
        assert_int_equal(replay_local_of(n->replay, i + 1), expect[i]);
    }
    /* completed tasks have no daemon id any more; the never-packed ones follow on */
    assert_int_equal(replay_wire_of(n->replay, 12), 0);
    for (uint64_t id = 21; id <= 25; id++) {
        assert_int_equal(replay_wire_of(n->replay, id), r + id - 20);
        assert_int_equal(replay_local_of(n->replay, r + id - 20), id);
    }
    assert_int_equal(kept_live(n), 0); /* the old batches are gone; `out` is kept once packed */

    /* packed and kept; 6 completes, 7 starts, then a second crash */
    assert_int_equal(replay_keep(n->replay, &out), 0);
    assert_int_equal(replay_keep(n->replay, &b), 0); /* 21-25 packed on the new connection */
    complete(n, 6);
    set_state(n, 7, TASK_ENTRY_GRANTED);
    complete(n, 7);
    complete(n, 22);
    submit_buf_t out2;
    submit_buf_init(&out2);
    assert_int_equal(replay_rebuild(n, &out2, 26), 0);
    assert_int_equal(out2.ntasks, r - 2 + 4);
    assert_int_equal(out2.tasks[0].id, 8);
    assert_int_equal(out2.tasks[r - 3].id, 20);
    assert_int_equal(out2.tasks[r - 2].id, 21);
    assert_int_equal(out2.tasks[r - 1].id, 23);
    assert_int_equal(replay_wire_of(n->replay, 23), r);
    assert_int_equal(replay_local_of(n->replay, r + 2), 25);
    assert_int_equal(replay_local_of(n->replay, r + 3), 26);
    assert_int_equal(replay_wire_of(n->replay, 26), r + 3);
    submit_buf_free(&out2);
    submit_buf_free(&out);
    submit_buf_free(&b);
    session_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_before_reconnect),
        cmocka_unit_test(test_batches_let_go),
        cmocka_unit_test(test_rebuild),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
