/*
 * Unit tests for daemon/limits.c: per-user session counts, the outstanding-task room, the
 * low-water mark at which a user held at the limit is taken up again, and entries that go
 * with a user's last session.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "limits.h"
#include "nodus.h"

static void test_sessions(void **state)
{
    limits_t l;
    limits_init(&l, 2, 0);
    assert_int_equal(limits_session_open(&l, 1000), 0);
    assert_int_equal(limits_session_open(&l, 1000), 0);
    assert_int_equal(limits_session_open(&l, 1000), NODUS_ELIMIT); /* the third */
    assert_int_equal(limits_session_open(&l, 1001), 0);            /* another user */
    assert_int_equal(limits_find(&l, 1000)->sessions, 2);
    limits_session_close(&l, 1000);
    assert_int_equal(limits_session_open(&l, 1000), 0); /* room again */
    limits_session_close(&l, 1000);
    limits_session_close(&l, 1000);
    assert_null(limits_find(&l, 1000)); /* the last session took the entry */
    assert_non_null(limits_find(&l, 1001));
    limits_session_close(&l, 1001);
    assert_int_equal(l.n, 0);
    limits_session_close(&l, 4242); /* unknown: ignored */
    limits_configure(&l, 0, 0);     /* 0 = no limit */
    for (int i = 0; i < 100; i++)
        assert_int_equal(limits_session_open(&l, 7), 0);
    limits_free(&l);
    (void)state;
}

static void test_room_and_low_water(void **state)
{
    limits_t l;
    limits_init(&l, 0, 8);
    assert_int_equal(limits_low_water(&l), 6); /* a quarter below the limit */
    assert_int_equal(limits_session_open(&l, 5), 0);
    assert_int_equal(limits_task_room(&l, 5), 8);
    limits_tasks_accepted(&l, 5, 5);
    assert_int_equal(limits_task_room(&l, 5), 3);
    limits_tasks_accepted(&l, 5, 3);
    assert_int_equal(limits_task_room(&l, 5), 0);
    limits_user_t *u = limits_find(&l, 5);
    assert_int_equal(u->throttled, 0); /* full, but nothing waits */
    limits_hold_changed(&l, 5, +1);    /* a session's input is held */
    limits_hold_changed(&l, 5, +1);    /* and another's: counted once per time at the limit */
    assert_int_equal(u->throttled, 1);
    assert_int_equal(u->peak_outstanding, 8);
    /* one done: below the limit but above the low-water mark: still held */
    limits_tasks_finished(&l, 5, 1);
    assert_int_equal(limits_task_room(&l, 5), 0);
    assert_false(l.resume_due);
    limits_tasks_finished(&l, 5, 1); /* 6: the low-water mark */
    assert_true(l.resume_due);
    assert_int_equal(limits_task_room(&l, 5), 2);
    l.resume_due = 0;
    /* another user is not affected by this one */
    assert_int_equal(limits_session_open(&l, 6), 0);
    assert_int_equal(limits_task_room(&l, 6), 8);
    limits_tasks_accepted(&l, 5, 2); /* full again, input still held */
    assert_int_equal(limits_find(&l, 5)->throttled, 2);
    assert_int_equal(limits_task_room(&l, 5), 0);
    assert_int_equal(limits_find(&l, 5)->peak_outstanding, 8);
    /* a raised limit frees a held user at once */
    limits_configure(&l, 0, 100);
    assert_true(l.resume_due);
    assert_int_equal(limits_task_room(&l, 5), 92);
    /* the session closes with its tasks released: the entry goes */
    limits_hold_changed(&l, 5, -1);
    limits_hold_changed(&l, 5, -1);
    limits_tasks_finished(&l, 5, 8);
    limits_session_close(&l, 5);
    assert_null(limits_find(&l, 5));
    limits_free(&l);
    (void)state;
}

/* The stall this guards against: room used up exactly by a session that had all its tasks
 * accepted, while another session's input is held. Completions must still resume it. */
static void test_resume_without_block(void **state)
{
    limits_t l;
    limits_init(&l, 0, 8);
    assert_int_equal(limits_session_open(&l, 2), 0);
    limits_hold_changed(&l, 2, +1); /* session B held (room was 0 earlier) */
    limits_tasks_finished(&l, 2, 0);
    limits_tasks_accepted(&l, 2, 2);
    l.resume_due = 0;
    limits_tasks_finished(&l, 2, 1); /* not at the limit: room, held input: resume */
    assert_true(l.resume_due);
    l.resume_due = 0;
    limits_tasks_accepted(&l, 2, 7); /* session A fills the room exactly */
    assert_int_equal(limits_task_room(&l, 2), 0);
    limits_tasks_finished(&l, 2, 1); /* 7: above low water */
    assert_false(l.resume_due);
    limits_tasks_finished(&l, 2, 1); /* 6: the low-water mark */
    assert_true(l.resume_due);
    limits_free(&l);
    (void)state;
}

static void test_tasks_outlive_session_entry(void **state)
{
    limits_t l;
    limits_init(&l, 0, 4);
    assert_int_equal(limits_session_open(&l, 9), 0);
    limits_tasks_accepted(&l, 9, 4);
    limits_session_close(&l, 9); /* tasks still counted: the entry stays */
    assert_non_null(limits_find(&l, 9));
    limits_tasks_finished(&l, 9, 10); /* never below zero */
    assert_null(limits_find(&l, 9));
    /* no limit: room is unbounded and nothing is ever held */
    limits_configure(&l, 0, 0);
    assert_int_equal(limits_task_room(&l, 9), UINT64_MAX);
    assert_int_equal(limits_low_water(&l), UINT64_MAX);
    limits_free(&l);
    (void)state;
}

static void test_tiny_limit(void **state)
{
    limits_t l;
    limits_init(&l, 0, 1);
    assert_int_equal(limits_low_water(&l), 0); /* at least one below */
    assert_int_equal(limits_session_open(&l, 3), 0);
    limits_tasks_accepted(&l, 3, 1);
    limits_hold_changed(&l, 3, +1);
    assert_int_equal(limits_task_room(&l, 3), 0);
    limits_tasks_finished(&l, 3, 1);
    assert_true(l.resume_due);
    assert_int_equal(limits_task_room(&l, 3), 1);
    l.resume_due = 0;
    /* not at the limit, input held: every completion is a chance to resume */
    limits_tasks_accepted(&l, 3, 1);
    assert_int_equal(limits_find(&l, 3)->throttled, 2);
    limits_hold_changed(&l, 3, -1); /* nothing held: at_limit goes */
    limits_hold_changed(&l, 3, +1); /* held again at the limit */
    assert_int_equal(limits_find(&l, 3)->throttled, 3);
    limits_free(&l);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_room_and_low_water),
        cmocka_unit_test(test_resume_without_block),
        cmocka_unit_test(test_tasks_outlive_session_entry),
        cmocka_unit_test(test_tiny_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
