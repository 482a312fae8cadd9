/*
 * Unit tests for the core scheduler (daemon/sched.c), driven by a simulated clock: tasks are
 * pushed, dispatched and finished at chosen nanoseconds, and the tests assert placements,
 * orders, core-time shares and the core invariants after every step.
 */
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

static sched_t *sched_new_full(size_t ncores, uint32_t default_weight, uint32_t max_weight,
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
static sched_t *sched_new(size_t ncores, uint32_t default_weight, uint32_t max_weight,
                          uint64_t reserve_after_ns)
{
    return sched_new_full(ncores, default_weight, max_weight, reserve_after_ns, LOOKAHEAD_DEFAULT,
                          LOOKAHEAD_MAX_DEFAULT);
}

/* Weights 1..8, `lookahead` per core for tasks under 200 us. */
static sched_t *sched_new_la(size_t ncores, uint64_t reserve_after_ns, uint32_t lookahead)
{
    return sched_new_full(ncores, 1, 8, reserve_after_ns, lookahead, LOOKAHEAD_MAX_DEFAULT);
}

static task_t *ready_task(uint64_t id, int32_t priority, uint32_t ncores)
{
    task_t *t = task_create(id, NULL);
    assert_non_null(t);
    t->priority = priority;
    t->ncores = ncores;
    t->state = TASK_READY;
    return t;
}

static void test_create_rejects_bad_input(void **state)
{
    (void)state;
    uint32_t cpus[2] = {4, 7};
    sched_config_t cfg = {.default_weight = 1, .max_weight = 8};
    assert_null(sched_create(NULL, 2, &cfg));
    assert_null(sched_create(cpus, 0, &cfg));
    assert_null(sched_create(cpus, 2, NULL));
    sched_t *s = sched_create(cpus, 2, &cfg);
    assert_non_null(s);
    assert_int_equal(sched_ncores(s), 2);
    assert_int_equal(sched_core_cpu(s, 0), 4);
    assert_int_equal(sched_core_cpu(s, 1), 7);
    assert_int_equal(sched_free_cores(s), 2);
    assert_null(sched_core_task(s, 5));
    sched_destroy(s);
}

/* Clients left at destroy are removed rather than leaked (valgrind checks the rest). */
static void test_destroy_with_clients_left(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 1, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[3];
    for (size_t i = 0; i < 3; i++) {
        t[i] = ready_task(i + 1, 0, 2);
        assert_int_equal(sched_push_ready(s, a, t[i], 0), 0);
    }
    /* a second push of a queued task is refused, and changes nothing */
    assert_int_equal(sched_push_ready(s, a, t[0], 0), NODUS_EINVAL);
    assert_int_equal(sched_client_ready(a), 3);
    sched_grant_t g[2];
    assert_int_equal(sched_dispatch(s, 0, g, 2), 1);
    assert_int_equal(t[0]->state, TASK_RUNNING);
    assert_int_equal(sched_push_ready(s, a, t[0], 0), NODUS_EINVAL); /* not READY */
    assert_int_equal(sched_push_ready(s, NULL, t[1], 0), NODUS_EINVAL);
    assert_int_equal(sched_client_ready(a), 2);
    sched_destroy(s);
    for (size_t i = 0; i < 3; i++)
        task_unref(t[i]); /* frees t[0]'s owned 2-core array too */
}

/* One client, 2 cores: two grants, the third waits; priority first, FIFO among equals. */
static void test_priorities_and_fifo(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 1, 8, 0);
    sched_client_t *c = sched_client_add(s, 1000, "job", 0, NULL);
    assert_non_null(c);
    task_t *t1 = ready_task(1, 0, 1), *t2 = ready_task(2, 0, 1), *t3 = ready_task(3, 5, 1);
    task_t *t4 = ready_task(4, 0, 1), *t5 = ready_task(5, -3, 1);
    sched_push_ready(s, c, t1, 0);
    sched_push_ready(s, c, t2, 0);
    sched_push_ready(s, c, t3, 0);
    sched_push_ready(s, c, t5, 0);
    sched_push_ready(s, c, t4, 0);
    assert_int_equal(sched_client_ready(c), 5);

    sched_grant_t g[8];
    assert_int_equal(sched_dispatch(s, 10, g, 8), 2);
    assert_ptr_equal(g[0].task, t3);
    assert_ptr_equal(g[1].task, t1);
    assert_ptr_equal(g[0].client, c);
    assert_int_equal(t3->state, TASK_RUNNING);
    assert_int_equal(t3->start_ns, 10);
    assert_int_not_equal(t3->cores[0], t1->cores[0]);
    assert_ptr_equal(sched_core_task(s, t3->cores[0]), t3);
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_running(c), 2);
    assert_int_equal(sched_client_ready(c), 3);

    /* the third waits until a core frees */
    assert_int_equal(sched_dispatch(s, 20, g, 8), 0);
    assert_int_equal(sched_task_finished(s, c, t3, 30), 0);
    assert_int_equal(t3->state, TASK_RUNNING); /* DONE is deps_complete's job */
    assert_int_equal(sched_free_cores(s), 1);
    assert_int_equal(sched_dispatch(s, 30, g, 8), 1);
    assert_ptr_equal(g[0].task, t2);
    assert_int_equal(sched_task_finished(s, c, t1, 40), 0);
    assert_int_equal(sched_task_finished(s, c, t2, 40), 0);
    /* max bounds the grants written */
    assert_int_equal(sched_dispatch(s, 40, g, 1), 1);
    assert_ptr_equal(g[0].task, t4);
    assert_int_equal(sched_dispatch(s, 40, g, 8), 1);
    assert_ptr_equal(g[0].task, t5);
    assert_int_equal(sched_task_finished(s, c, t4, 50), 0);
    assert_int_equal(sched_task_finished(s, c, t5, 50), 0);
    assert_int_equal(sched_free_cores(s), 2);
    assert_int_equal(sched_client_running(c), 0);

    sched_client_remove(s, c, 60);
    sched_destroy(s);
    task_t *all[] = {t1, t2, t3, t4, t5};
    for (size_t i = 0; i < 5; i++)
        task_unref(all[i]);
}

static void test_weights(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 2, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "j", 1000, NULL);
    assert_int_equal(sched_client_weight(a), 8);
    assert_int_equal(sched_client_set_weight(s, a, 0, 0), 2);
    assert_int_equal(sched_client_set_weight(s, a, 3, 0), 3);
    assert_int_equal(sched_client_weight(a), 3);
    /* same uid + job: one job, whose weight is the last one set */
    int owner;
    sched_client_t *b = sched_client_add(s, 1, "j", 5, &owner);
    assert_ptr_equal(sched_client_owner(b), &owner);
    assert_int_equal(sched_client_weight(a), 5);
    assert_int_equal(sched_client_weight(b), 5);
    /* another uid with the same job name is another job */
    sched_client_t *c = sched_client_add(s, 2, "j", 7, NULL);
    assert_int_equal(sched_client_weight(c), 7);
    assert_int_equal(sched_client_weight(a), 5);
    /* a session that asks for no weight joins its job at the job's weight */
    sched_client_t *d = sched_client_add(s, 1, "j", 0, NULL);
    assert_int_equal(sched_client_weight(d), 5);
    assert_int_equal(sched_client_weight(a), 5);
    /* a new job that asks for none gets the default */
    sched_client_t *e = sched_client_add(s, 3, "j", 0, NULL);
    assert_int_equal(sched_client_weight(e), 2);
    sched_client_remove(s, a, 0);
    assert_int_equal(sched_client_weight(b), 5);
    sched_client_remove(s, b, 0);
    sched_client_remove(s, c, 0);
    sched_client_remove(s, d, 0);
    sched_client_remove(s, e, 0);
    sched_destroy(s);
}

/* sched_client_core_ns counts running tasks up to now, ncores times. */
static void test_core_ns_includes_running(void **state)
{
    (void)state;
    sched_t *s = sched_new(4, 1, 8, 0);
    sched_client_t *c = sched_client_add(s, 1, "j", 1, NULL);
    task_t *t = ready_task(1, 0, 2);
    sched_push_ready(s, c, t, 0);
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 1000, g, 4), 1);
    assert_int_equal(sched_client_core_ns(c, 1000), 0);
    assert_int_equal(sched_client_core_ns(c, 6000), 10000);
    assert_int_equal(sched_task_finished(s, c, t, 11000), 0);
    assert_int_equal(sched_client_core_ns(c, 11000), 20000);
    assert_int_equal(sched_client_core_ns(c, 50000), 20000);
    sched_client_remove(s, c, 60000);
    sched_destroy(s);
    task_unref(t);
}

/* ---- streaming simulation: every client always has ready tasks of one duration ---- */

#define SIM_CLIENTS 4

typedef struct running {
    task_t *t;
    sched_client_t *c;
    uint64_t end;
} running_t;

typedef struct stream_sim {
    sched_t *s;
    size_t ncores;
    uint64_t now, dur, next_id;
    sched_client_t *clients[SIM_CLIENTS];
    int paused[SIM_CLIENTS];
    running_t run[64];
    size_t nrun;
    uint64_t core_end[64];   /* when the last task granted on each core ends */
    size_t lookahead_grants; /* grants queued behind a running head */
    size_t max_queued;       /* most tasks seen queued on one core */
    task_t **all;            /* every task created; unreferenced at the end */
    size_t nall, cap;
} stream_sim_t;

static void sim_refill(stream_sim_t *m)
{
    for (size_t i = 0; i < SIM_CLIENTS; i++) {
        sched_client_t *c = m->clients[i];
        while (c && !m->paused[i] && sched_client_ready(c) < m->ncores + 1) {
            if (m->nall == m->cap) {
                m->cap = m->cap ? 2 * m->cap : 1024;
                m->all = realloc(m->all, m->cap * sizeof *m->all);
                assert_non_null(m->all);
            }
            task_t *t = ready_task(++m->next_id, 0, 1);
            m->all[m->nall++] = t;
            sched_push_ready(m->s, c, t, m->now);
        }
    }
}

static void sim_dispatch(stream_sim_t *m)
{
    sched_grant_t g[64];
    size_t n = sched_dispatch(m->s, m->now, g, 64);
    for (size_t i = 0; i < n; i++) {
        task_t *t = g[i].task;
        /* a task queued behind a head starts when the task before it on that core ends */
        uint64_t start = m->now;
        for (uint32_t k = 0; k < t->ncores; k++)
            if (m->core_end[t->cores[k]] > start) start = m->core_end[t->cores[k]];
        for (uint32_t k = 0; k < t->ncores; k++)
            m->core_end[t->cores[k]] = start + m->dur;
        if (sched_core_task(m->s, t->cores[0]) != t) m->lookahead_grants++;
        assert_true(m->nrun < 64);
        m->run[m->nrun++] = (running_t){t, g[i].client, start + m->dur};
    }
    for (size_t i = 0; i < m->ncores; i++)
        if (sched_core_queued(m->s, i) > m->max_queued) m->max_queued = sched_core_queued(m->s, i);
    int streaming = 0;
    for (size_t i = 0; i < SIM_CLIENTS; i++)
        streaming |= m->clients[i] && !m->paused[i];
    if (streaming) assert_int_equal(sched_free_cores(m->s), 0); /* never a core left idle */
}

/* Runs events up to and including `until`; now ends at `until`. */
static void sim_run_until(stream_sim_t *m, uint64_t until)
{
    sim_refill(m);
    sim_dispatch(m);
    for (;;) {
        uint64_t next = UINT64_MAX;
        for (size_t i = 0; i < m->nrun; i++)
            if (m->run[i].end < next) next = m->run[i].end;
        if (next > until) break;
        m->now = next;
        for (size_t i = 0; i < m->nrun;) {
            if (m->run[i].end <= m->now) {
                assert_int_equal(sched_task_finished(m->s, m->run[i].c, m->run[i].t, m->now), 0);
                m->run[i] = m->run[--m->nrun];
            } else {
                i++;
            }
        }
        sim_refill(m);
        sim_dispatch(m);
    }
    m->now = until;
}

static void sim_free(stream_sim_t *m)
{
    for (size_t i = 0; i < SIM_CLIENTS; i++)
        if (m->clients[i]) sched_client_remove(m->s, m->clients[i], m->now);
    sched_destroy(m->s);
    for (size_t i = 0; i < m->nall; i++)
        task_unref(m->all[i]);
    free(m->all);
}

static double ratio(uint64_t a, uint64_t b)
{
    return (double)a / (double)b;
}

/* Two jobs on 2 cores, tasks of `dur` until `until`: b's core-time / a's within tol of expect. */
static void share_run_on(sched_t *s, uint32_t wa, uint32_t wb, double expect, uint64_t dur,
                         uint64_t until, double tol, size_t *lookahead_grants)
{
    stream_sim_t m = {.s = s, .ncores = 2, .dur = dur};
    m.clients[0] = sched_client_add(m.s, 1, "a", wa, NULL);
    m.clients[1] = sched_client_add(m.s, 2, "b", wb, NULL);
    sim_run_until(&m, until);
    uint64_t a = sched_client_core_ns(m.clients[0], m.now);
    uint64_t b = sched_client_core_ns(m.clients[1], m.now);
    assert_true(a + b >= 2 * until - 2 * dur); /* both cores busy the whole time */
    double r = ratio(b, a);
    if (!(r > expect * (1 - tol) && r < expect * (1 + tol)))
        fail_msg("core-time ratio %.3f, expected %.3f +- %.0f%%", r, expect, tol * 100);
    if (lookahead_grants) *lookahead_grants = m.lookahead_grants;
    sim_free(&m);
}

/* Two jobs, 2 cores, 1-ms tasks for 10 s: core-time follows the weights. */
static void share_run(uint32_t wa, uint32_t wb, double expect)
{
    size_t queued;
    share_run_on(sched_new(2, 1, 8, 0), wa, wb, expect, MS, 10 * SEC, 0.05, &queued);
    assert_int_equal(queued, 0); /* 1-ms tasks are long: no lookahead */
}

static void test_fair_share_weighted(void **state)
{
    (void)state;
    share_run(1, 3, 3.0);
}

static void test_fair_share_equal(void **state)
{
    (void)state;
    share_run(1, 1, 1.0);
    share_run(4, 4, 1.0);
}

/* A weight change prices future core-time only: no burst from re-pricing the past. */
static void test_weight_change_no_jump(void **state)
{
    (void)state;
    stream_sim_t m = {.s = sched_new(2, 1, 8, 0), .ncores = 2, .dur = MS};
    m.clients[0] = sched_client_add(m.s, 1, "a", 1, NULL);
    m.clients[1] = sched_client_add(m.s, 2, "b", 1, NULL);
    sim_run_until(&m, 2 * SEC);
    uint64_t a0 = sched_client_core_ns(m.clients[0], m.now);
    uint64_t b0 = sched_client_core_ns(m.clients[1], m.now);
    assert_int_equal(sched_client_set_weight(m.s, m.clients[1], 4, m.now), 4);
    sim_run_until(&m, 2 * SEC + 200 * MS);
    uint64_t a = sched_client_core_ns(m.clients[0], m.now) - a0;
    uint64_t b = sched_client_core_ns(m.clients[1], m.now) - b0;
    double r = ratio(b, a);
    assert_true(r > 3.6 && r < 4.4);
    sim_free(&m);
}

/* Two sessions of one job get one share between them, not two. */
static void test_shared_job_one_share(void **state)
{
    (void)state;
    stream_sim_t m = {.s = sched_new(2, 1, 8, 0), .ncores = 2, .dur = MS};
    m.clients[0] = sched_client_add(m.s, 1, "mpi", 1, NULL);
    m.clients[1] = sched_client_add(m.s, 1, "mpi", 1, NULL);
    m.clients[2] = sched_client_add(m.s, 2, "other", 1, NULL);
    sim_run_until(&m, 10 * SEC);
    uint64_t r0 = sched_client_core_ns(m.clients[0], m.now);
    uint64_t r1 = sched_client_core_ns(m.clients[1], m.now);
    uint64_t o = sched_client_core_ns(m.clients[2], m.now);
    double r = ratio(r0 + r1, o);
    assert_true(r > 0.95 && r < 1.05);
    /* and the job's share is split evenly between its sessions */
    r = ratio(r0, r1);
    assert_true(r > 0.95 && r < 1.05);
    sim_free(&m);
}

/* Core-time shares of clients i and j over [from, m->now]. */
static double window_share(stream_sim_t *m, size_t i, size_t j, uint64_t base_i, uint64_t base_j)
{
    uint64_t di = sched_client_core_ns(m->clients[i], m->now) - base_i;
    uint64_t dj = sched_client_core_ns(m->clients[j], m->now) - base_j;
    return (double)dj / (double)(di + dj);
}

/* A runs alone for 5 s; B arrives and must share at once, not take every core for seconds. */
static void test_newcomer_does_not_monopolise(void **state)
{
    (void)state;
    stream_sim_t m = {.s = sched_new(2, 1, 8, 0), .ncores = 2, .dur = MS};
    m.clients[0] = sched_client_add(m.s, 1, "a", 1, NULL);
    sim_run_until(&m, 5 * SEC);
    uint64_t a0 = sched_client_core_ns(m.clients[0], m.now);
    assert_true(a0 >= 10 * SEC - 2 * MS);
    m.clients[1] = sched_client_add(m.s, 2, "b", 1, NULL);
    sim_run_until(&m, 5 * SEC + 10 * MS);
    double share = window_share(&m, 0, 1, a0, 0);
    assert_true(share > 0.3 && share < 0.7);
    sim_run_until(&m, 5 * SEC + 100 * MS);
    share = window_share(&m, 0, 1, a0, 0);
    assert_true(share > 0.45 && share < 0.55);
    sim_free(&m);
}

/* A job that was idle while another ran cannot bank that time as credit. */
static void test_idle_job_hoards_no_credit(void **state)
{
    (void)state;
    stream_sim_t m = {.s = sched_new(2, 1, 8, 0), .ncores = 2, .dur = MS};
    m.clients[0] = sched_client_add(m.s, 1, "a", 1, NULL);
    m.clients[1] = sched_client_add(m.s, 2, "b", 1, NULL);
    sim_run_until(&m, 1 * SEC);
    m.paused[1] = 1;
    sim_run_until(&m, 3 * SEC); /* b's queue drains, then a runs alone for ~2 s */
    assert_int_equal(sched_client_ready(m.clients[1]), 0);
    uint64_t a0 = sched_client_core_ns(m.clients[0], m.now);
    uint64_t b0 = sched_client_core_ns(m.clients[1], m.now);
    m.paused[1] = 0;
    sim_run_until(&m, 3 * SEC + 100 * MS);
    double share = window_share(&m, 0, 1, a0, b0);
    assert_true(share > 0.45 && share < 0.55);
    sim_free(&m);
}

/* After the node went idle, a new job starts level with the last one, not with zero. */
static void test_idle_node_no_credit(void **state)
{
    (void)state;
    stream_sim_t m = {.s = sched_new(2, 1, 8, 0), .ncores = 2, .dur = MS};
    m.clients[0] = sched_client_add(m.s, 1, "a", 1, NULL);
    sim_run_until(&m, 2 * SEC);
    m.paused[0] = 1;
    sim_run_until(&m, 2 * SEC + 500 * MS); /* a drains; the node idles */
    assert_int_equal(sched_free_cores(m.s), 2);
    m.clients[1] = sched_client_add(m.s, 2, "b", 1, NULL);
    sim_run_until(&m, 2 * SEC + 510 * MS); /* b runs alone for a while */
    m.paused[0] = 0;
    uint64_t a0 = sched_client_core_ns(m.clients[0], m.now);
    uint64_t b0 = sched_client_core_ns(m.clients[1], m.now);
    sim_run_until(&m, 2 * SEC + 610 * MS);
    double share = window_share(&m, 0, 1, a0, b0);
    assert_true(share > 0.45 && share < 0.55);
    sim_free(&m);
}

/* A session that joins a job already running shares the job's cores with its sibling. */
static void test_session_joins_running_job(void **state)
{
    (void)state;
    stream_sim_t m = {.s = sched_new(2, 1, 8, 0), .ncores = 2, .dur = MS};
    m.clients[0] = sched_client_add(m.s, 1, "mpi", 1, NULL);
    sim_run_until(&m, 2 * SEC);
    uint64_t a0 = sched_client_core_ns(m.clients[0], m.now);
    m.clients[1] = sched_client_add(m.s, 1, "mpi", 1, NULL);
    sim_run_until(&m, 2 * SEC + 100 * MS);
    double share = window_share(&m, 0, 1, a0, 0);
    assert_true(share > 0.45 && share < 0.55);
    sim_free(&m);
}

/* A client gets the core it ran on last; a stranger gets a core nobody ran on. */
static void test_affinity(void **state)
{
    (void)state;
    sched_t *s = sched_new(3, 1, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    sched_grant_t g[4];
    task_t *tb = ready_task(1, 0, 1), *ta = ready_task(2, 0, 1);
    sched_push_ready(s, b, tb, 0);
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    sched_push_ready(s, a, ta, 0);
    assert_int_equal(sched_dispatch(s, 0, g, 4), 1);
    assert_int_equal(tb->cores[0], 0);
    assert_int_equal(ta->cores[0], 1);
    assert_int_equal(sched_task_finished(s, b, tb, 10), 0);
    assert_int_equal(sched_task_finished(s, a, ta, 10), 0);
    assert_ptr_equal(sched_core_last_client(s, 0), b);
    assert_ptr_equal(sched_core_last_client(s, 1), a);
    assert_null(sched_core_last_client(s, 2));

    /* every core free: a gets core 1 again, b core 0 */
    task_t *ta2 = ready_task(3, 0, 1), *tb2 = ready_task(4, 0, 1);
    sched_push_ready(s, a, ta2, 20);
    assert_int_equal(sched_dispatch(s, 20, g, 4), 1);
    assert_int_equal(ta2->cores[0], 1);
    sched_push_ready(s, b, tb2, 20);
    assert_int_equal(sched_dispatch(s, 20, g, 4), 1);
    assert_int_equal(tb2->cores[0], 0);
    assert_int_equal(sched_task_finished(s, a, ta2, 30), 0);
    assert_int_equal(sched_task_finished(s, b, tb2, 30), 0);

    /* a newcomer prefers the never-used core 2 over cores that others will want back */
    sched_client_t *c = sched_client_add(s, 3, "c", 1, NULL);
    task_t *tc = ready_task(5, 0, 1);
    sched_push_ready(s, c, tc, 40);
    assert_int_equal(sched_dispatch(s, 40, g, 4), 1);
    assert_int_equal(tc->cores[0], 2);
    assert_int_equal(sched_task_finished(s, c, tc, 50), 0);

    /* removing a client forgets it as last client; its core becomes everyone's */
    sched_client_remove(s, a, 60);
    assert_null(sched_core_last_client(s, 1));
    task_t *tc2 = ready_task(6, 0, 1), *tc3 = ready_task(7, 0, 1);
    sched_push_ready(s, c, tc2, 70);
    sched_push_ready(s, c, tc3, 70);
    assert_int_equal(sched_dispatch(s, 70, g, 4), 2);
    assert_int_equal(tc2->cores[0], 2); /* own core first */
    assert_int_equal(tc3->cores[0], 1); /* then the orphaned one, not b's core 0 */
    assert_int_equal(sched_task_finished(s, c, tc2, 80), 0);
    assert_int_equal(sched_task_finished(s, c, tc3, 80), 0);

    sched_client_remove(s, b, 90);
    sched_client_remove(s, c, 90);
    sched_destroy(s);
    task_t *all[] = {ta, tb, ta2, tb2, tc, tc2, tc3};
    for (size_t i = 0; i < 7; i++)
        task_unref(all[i]);
}

/*
 * A 2-of-2-cores task while another job streams 1-core tasks whose cores free at staggered
 * times. Before the reservation the free core is backfilled; after it a core is held, and the
 * wide task runs within reserve_after_ns + the longest task.
 */
static void wide_task_run(uint64_t reserve)
{
    const uint64_t dur = 2 * MS, tick = MS / 2, push_at = 3 * MS + tick;
    sched_t *s = sched_new(2, 1, 8, reserve);
    sched_client_t *b = sched_client_add(s, 1, "stream", 1, NULL);
    sched_client_t *a = sched_client_add(s, 2, "wide", 1, NULL);
    running_t run[4];
    size_t nrun = 0, nall = 0, backfilled = 0, held = 0, after = 0;
    task_t *all[256], *wide = NULL;
    uint64_t placed_at = 0, wide_end = 0, id = 0;

    for (uint64_t now = 0; now <= 40 * MS; now += tick) {
        for (size_t i = 0; i < nrun;) {
            if (run[i].end <= now) {
                assert_int_equal(sched_task_finished(s, run[i].c, run[i].t, now), 0);
                run[i] = run[--nrun];
            } else {
                i++;
            }
        }
        /* one stream task at 0, then a full queue from 1 ms: cores free on alternate ms */
        size_t want = now == 0 ? 1 : now >= MS ? 3 : 0;
        while (sched_client_ready(b) < want) {
            all[nall] = ready_task(++id, 0, 1);
            sched_push_ready(s, b, all[nall++], now);
        }
        if (now == push_at) {
            wide = all[nall++] = ready_task(++id, 0, 2);
            sched_push_ready(s, a, wide, now);
        }
        sched_grant_t g[4];
        size_t n = sched_dispatch(s, now, g, 4);
        for (size_t i = 0; i < n; i++) {
            uint64_t end = now + dur;
            if (g[i].task == wide) {
                placed_at = now;
                wide_end = end;
                assert_ptr_equal(g[i].client, a);
                assert_int_not_equal(wide->cores[0], wide->cores[1]);
                assert_ptr_equal(sched_core_task(s, wide->cores[0]), wide);
                assert_ptr_equal(sched_core_task(s, wide->cores[1]), wide);
            } else if (wide && !placed_at) {
                backfilled++;
            } else if (placed_at && now >= wide_end) {
                after++;
            }
            run[nrun++] = (running_t){g[i].task, g[i].client, end};
        }
        if (wide && !placed_at && sched_free_cores(s) > 0 && sched_client_ready(b) > 0)
            held++; /* a core kept idle for the wide task although b has work */
        if (wide && !placed_at && now < push_at + reserve)
            assert_int_equal(sched_free_cores(s), 0); /* no reservation yet: backfilled */
    }
    assert_true(placed_at > 0);
    assert_true(placed_at >= push_at + reserve); /* cores never free together: it waited */
    assert_true(placed_at <= push_at + reserve + 2 * dur);
    assert_true(held >= 1);
    if (reserve >= 4 * MS) assert_true(backfilled >= reserve / MS - 2);
    assert_true(after > 10); /* the stream continues afterwards */

    sched_client_remove(s, a, 41 * MS);
    sched_client_remove(s, b, 41 * MS);
    sched_destroy(s);
    for (size_t i = 0; i < nall; i++)
        task_unref(all[i]);
}

static void test_wide_task_reservation(void **state)
{
    (void)state;
    wide_task_run(10 * MS);
}

static void test_wide_task_reserve_at_once(void **state)
{
    (void)state;
    wide_task_run(0);
}

/* Removing a client frees its cores at once; finishing a task that is not running fails. */
static void test_client_remove(void **state)
{
    (void)state;
    sched_t *s = sched_new(2, 1, 8, 0);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    task_t *ta[5], *tb[2];
    for (size_t i = 0; i < 5; i++) {
        ta[i] = ready_task(i + 1, 0, 1);
        sched_push_ready(s, a, ta[i], 0);
    }
    sched_grant_t g[4];
    assert_int_equal(sched_dispatch(s, 0, g, 4), 2);
    assert_ptr_equal(g[0].client, a);
    assert_ptr_equal(g[1].client, a);
    for (size_t i = 0; i < 2; i++) {
        tb[i] = ready_task(10 + i, 0, 1);
        sched_push_ready(s, b, tb[i], 1);
    }
    assert_int_equal(sched_dispatch(s, 1, g, 4), 0);

    /* bad finishes change nothing */
    assert_int_equal(sched_task_finished(s, b, tb[0], 2), NODUS_EINVAL); /* ready, not running */
    assert_int_equal(sched_task_finished(s, b, ta[0], 2), NODUS_EINVAL); /* a's task */
    assert_int_equal(sched_task_finished(s, a, ta[3], 2), NODUS_EINVAL); /* a's, but ready */
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_running(a), 2);
    assert_int_equal(sched_task_finished(s, a, ta[0], 3), 0);
    assert_int_equal(sched_task_finished(s, a, ta[0], 3), NODUS_EINVAL); /* twice */
    assert_int_equal(sched_dispatch(s, 3, g, 4), 1);                     /* b's turn */
    assert_ptr_equal(g[0].task, tb[0]);
    assert_int_equal(sched_task_finished(s, b, tb[0], 4), 0);
    assert_int_equal(sched_free_cores(s), 1);

    /* a still runs ta[1] and has ready tasks; remove it: its core frees at once */
    sched_client_remove(s, a, 5);
    assert_int_equal(sched_free_cores(s), 2);
    assert_null(sched_core_task(s, 0));
    assert_null(sched_core_task(s, 1));
    /* ta[0] and then tb[0] ran on core 0; ta[1] never finished on core 1 */
    assert_ptr_equal(sched_core_last_client(s, 0), b);
    assert_null(sched_core_last_client(s, 1));
    assert_int_equal(sched_dispatch(s, 5, g, 4), 1);
    assert_ptr_equal(g[0].task, tb[1]);
    assert_int_equal(sched_client_ready(b), 0);
    assert_int_equal(sched_task_finished(s, b, tb[1], 6), 0);

    sched_client_remove(s, b, 7);
    sched_destroy(s);
    for (size_t i = 0; i < 5; i++)
        task_unref(ta[i]);
    for (size_t i = 0; i < 2; i++)
        task_unref(tb[i]);
}

/* ---- lookahead ---- */

/* n ready 1-core tasks with ids from first_id, pushed for c at now (stored in t[0..n)). */
static void push_tasks(sched_t *s, sched_client_t *c, task_t **t, size_t n, uint64_t first_id,
                       uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        t[i] = ready_task(first_id + i, 0, 1);
        assert_int_equal(sched_push_ready(s, c, t[i], now), 0);
    }
}

static void unref_tasks(task_t **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        task_unref(t[i]);
}

/* Finishes the head of `core` at now; returns it. */
static task_t *finish_head(sched_t *s, sched_client_t *c, size_t core, uint64_t now)
{
    task_t *h = sched_core_task(s, core);
    assert_non_null(h);
    assert_int_equal(sched_task_finished(s, c, h, now), 0);
    return h;
}

/*
 * 2 cores, lookahead 2, one client with 10-us tasks: no lookahead while fewer than 8 tasks have
 * finished; then each busy core gets 2 queued tasks; finishing a head promotes the first queued
 * task (now running, charged from now, same client, core still busy); only heads may finish.
 */
static void test_lookahead_warmup_and_promote(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[40];
    push_tasks(s, a, t, 40, 1, 0);
    sched_grant_t g[16];
    uint64_t now = 0;
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        size_t n = sched_dispatch(s, now, g, 16);
        if (k < 7) {
            /* the free core is refilled, nothing is queued */
            assert_int_equal(n, 1);
            assert_int_equal(sched_core_queued(s, 0), 0);
            assert_int_equal(sched_core_queued(s, 1), 0);
            continue;
        }
        /* the 8th finish: the free core, then queues filled level by level */
        assert_int_equal(n, 5);
        assert_ptr_equal(g[0].task, sched_core_task(s, 1));
        for (size_t i = 1; i < 5; i++) {
            assert_ptr_equal(g[i].client, a);
            assert_int_equal(g[i].task->state, TASK_RUNNING);
            assert_int_equal(g[i].task->ncores, 1);
            assert_int_equal(g[i].task->cores[0], (i - 1) % 2);
            assert_ptr_not_equal(sched_core_task(s, g[i].task->cores[0]), g[i].task);
        }
        assert_ptr_equal(g[1].task, t[10]); /* in the client's order */
        assert_ptr_equal(g[4].task, t[13]);
    }
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_running(a), 6); /* 2 heads + 4 queued */
    assert_int_equal(sched_client_ready(a), 26);
    task_t *q0 = g[1].task, *q0b = g[3].task;

    /* queued tasks cannot finish before their head: refused, nothing changed */
    uint64_t used = sched_client_core_ns(a, now);
    assert_int_equal(sched_task_finished(s, a, q0b, now + US), NODUS_EINVAL);
    assert_int_equal(sched_task_finished(s, a, q0, now + US), NODUS_EINVAL);
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_client_running(a), 6);
    assert_int_equal(sched_free_cores(s), 0);
    assert_int_equal(sched_client_core_ns(a, now), used);

    /* the head finishes: q0 is promoted on core 0 */
    now += 10 * US;
    task_t *h0 = finish_head(s, a, 0, now);
    assert_ptr_not_equal(h0, q0);
    assert_ptr_equal(sched_core_task(s, 0), q0);
    assert_int_equal(q0->state, TASK_RUNNING);
    assert_int_equal(q0->start_ns, now);
    assert_int_equal(sched_core_queued(s, 0), 1);
    assert_int_equal(sched_free_cores(s), 0);
    assert_ptr_equal(sched_core_last_client(s, 0), a);
    assert_int_equal(sched_client_running(a), 5);
    /* both cores stay charged to a without a gap: 2 cores x 10 us */
    assert_int_equal(sched_client_core_ns(a, now), used + 2 * 10 * US);
    assert_int_equal(sched_client_core_ns(a, now + 5 * US), used + 2 * 15 * US);
    /* q0b, now first in line behind q0, still cannot finish */
    assert_int_equal(sched_task_finished(s, a, q0b, now), NODUS_EINVAL);

    /* the next dispatch tops core 0 up again */
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_int_equal(g[0].task->cores[0], 0);
    assert_int_equal(sched_core_queued(s, 0), 2);

    /* max bounds lookahead grants too; the next call continues */
    now += 10 * US;
    finish_head(s, a, 0, now);
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 1), 1);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);

    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 40);
}

/*
 * A reload (sched_set_config): weights are worked out again from what each job asked for under
 * the new cap and default; lookahead turned on at run time queues tasks, a lower limit lets the
 * longer queues run down instead of dropping granted tasks.
 */
static void test_set_config(void **state)
{
    (void)state;
    sched_t *s = sched_new_full(2, 1, 8, 0, 0, LOOKAHEAD_MAX_DEFAULT); /* lookahead off */
    sched_client_t *a = sched_client_add(s, 1, "a", 6, NULL);
    sched_client_t *b = sched_client_add(s, 1, "b", 0, NULL);   /* the default */
    sched_client_t *c = sched_client_add(s, 1, "c", 100, NULL); /* capped at 8 */
    assert_int_equal(sched_client_weight(a), 6);
    assert_int_equal(sched_client_weight(b), 1);
    assert_int_equal(sched_client_weight(c), 8);

    sched_config_t cfg;
    sched_get_config(s, &cfg);
    cfg.max_weight = 4;
    cfg.default_weight = 2;
    sched_set_config(s, &cfg, 0);
    assert_int_equal(sched_client_weight(a), 4);
    assert_int_equal(sched_client_weight(b), 2);
    assert_int_equal(sched_client_weight(c), 4);
    cfg.max_weight = 50; /* raising the cap gives back what was asked */
    sched_set_config(s, &cfg, 0);
    assert_int_equal(sched_client_weight(a), 6);
    assert_int_equal(sched_client_weight(c), 50);
    cfg.max_weight = 0; /* normalised like sched_create */
    cfg.default_weight = 0;
    sched_set_config(s, &cfg, 0);
    sched_get_config(s, &cfg);
    assert_int_equal(cfg.max_weight, NODUS_MAX_WEIGHT);
    assert_int_equal(cfg.default_weight, 1);
    sched_client_remove(s, b, 0);
    sched_client_remove(s, c, 0);

    /* lookahead on at run time: short tasks get queued behind the heads */
    task_t *t[40];
    push_tasks(s, a, t, 40, 1, 0);
    sched_grant_t g[16];
    uint64_t now = 0;
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1); /* no queueing while off */
    }
    cfg.lookahead = 3;
    sched_set_config(s, &cfg, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 6);
    assert_int_equal(sched_core_queued(s, 0), 3);
    assert_int_equal(sched_core_queued(s, 1), 3);
    /* lowered to 1: nothing is dropped, the queues run down to it */
    cfg.lookahead = 1;
    sched_set_config(s, &cfg, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    for (size_t k = 0; k < 3; k++) {
        now += 10 * US;
        finish_head(s, a, 0, now);
        sched_dispatch(s, now, g, 16);
    }
    assert_int_equal(sched_core_queued(s, 0), 1);
    assert_int_equal(sched_core_queued(s, 1), 3);
    /* the ring keeps FIFO order across the change: core 1's queue is promoted in grant order */
    task_t *next = NULL;
    for (size_t k = 0; k < 3; k++) {
        now += 10 * US;
        task_t *h = finish_head(s, a, 1, now);
        if (next) assert_ptr_equal(h, next);
        next = sched_core_task(s, 1);
        assert_true(next->id > h->id);
    }
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 40);
}

/* Lookahead needs short tasks: none while the average is above 200 us, back once it drops. */
static void test_lookahead_needs_short_tasks(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(1, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[40];
    push_tasks(s, a, t, 40, 1, 0);
    sched_grant_t g[8];
    uint64_t now = 0;
    assert_int_equal(sched_dispatch(s, now, g, 8), 1);
    for (size_t k = 0; k < 10; k++) {
        now += 300 * US;
        finish_head(s, a, 0, now);
        assert_int_equal(sched_dispatch(s, now, g, 8), 1);
        assert_int_equal(sched_core_queued(s, 0), 0);
    }
    /* 10-us tasks now: the average goes 300 -> 263.75 -> 232.03 -> 204.28 -> 179.99 us */
    for (size_t k = 0; k < 4; k++) {
        now += 10 * US;
        finish_head(s, a, 0, now);
        size_t n = sched_dispatch(s, now, g, 8);
        assert_int_equal(n, k < 3 ? 1 : 3);
        assert_int_equal(sched_core_queued(s, 0), k < 3 ? 0 : 2);
    }
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 40);
}

/* Only 1-core tasks are queued, and only behind 1-core heads. */
static void test_lookahead_one_core_tasks_only(void **state)
{
    (void)state;
    sched_grant_t g[16];
    uint64_t now = 0;

    /* 2 cores: after warming up, the client's next ready task is a 2-core one: nothing queued */
    sched_t *s = sched_new_la(2, SEC, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *t[14];
    push_tasks(s, a, t, 10, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    }
    assert_int_equal(sched_client_ready(a), 0);
    t[10] = ready_task(11, 1, 2); /* higher priority: the client's head */
    assert_int_equal(sched_push_ready(s, a, t[10], now), 0);
    push_tasks(s, a, t + 11, 3, 12, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(sched_core_queued(s, 0), 0);
    assert_int_equal(sched_core_queued(s, 1), 0);
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(t, 14);

    /* 3 cores: a 2-core head gets nothing queued, the 1-core head beside it does */
    s = sched_new_la(3, SEC, 2);
    a = sched_client_add(s, 1, "a", 1, NULL);
    task_t *u[20];
    push_tasks(s, a, u, 11, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 3);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 3, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    }
    u[11] = ready_task(12, 0, 2);
    assert_int_equal(sched_push_ready(s, a, u[11], now), 0);
    now += 10 * US;
    finish_head(s, a, 0, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0); /* 1 free core: the wide head waits */
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].task, u[11]);
    push_tasks(s, a, u + 12, 8, 13, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    assert_int_equal(sched_core_queued(s, 2), 2);
    assert_int_equal(sched_core_queued(s, u[11]->cores[0]), 0);
    assert_int_equal(sched_core_queued(s, u[11]->cores[1]), 0);
    /* the wide task finishes: both its cores free at once and are refilled normally */
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, a, u[11], now), 0);
    assert_int_equal(sched_free_cores(s), 2);
    assert_int_equal(sched_dispatch(s, now, g, 16), 6); /* 2 heads, then 2 + 2 queued */
    sched_client_remove(s, a, now);
    sched_destroy(s);
    unref_tasks(u, 20);
}

/* While a reservation for a wide task is active nothing is queued, even for an eligible client. */
static void test_lookahead_not_during_reservation(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[13];
    push_tasks(s, a, t, 10, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    }
    now += 10 * US;
    finish_head(s, a, 0, now); /* a: one head on core 1, nothing ready, core 0 free */
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);

    /* b arrives level with a (vtime lifted to a's) with a 2-core task, which is reserved at
     * once; a gets ready work too and would be eligible (tie, short tasks), but must wait */
    task_t *wide = ready_task(100, 0, 2);
    assert_int_equal(sched_push_ready(s, b, wide, now), 0);
    push_tasks(s, a, t + 10, 3, 11, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    assert_int_equal(sched_core_queued(s, 1), 0);
    assert_int_equal(sched_free_cores(s), 1); /* held for the wide task */

    now += 10 * US;
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].task, wide);
    assert_int_equal(sched_core_queued(s, 0), 0);
    assert_int_equal(sched_core_queued(s, 1), 0);
    now += 10 * US;
    assert_int_equal(sched_task_finished(s, b, wide, now), 0);
    assert_int_equal(sched_dispatch(s, now, g, 16), 3); /* b is idle again: a queues once more */

    sched_client_remove(s, a, now);
    sched_client_remove(s, b, now);
    sched_destroy(s);
    unref_tasks(t, 13);
    task_unref(wide);
}

/*
 * A job with a smaller vtime arrives: the running client's queues are not refilled, so its cores
 * drain and free, and the first one to free goes to the newcomer.
 */
static void test_lookahead_yields_to_deserving_job(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[40], *u[10];
    push_tasks(s, a, t, 40, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        sched_dispatch(s, now, g, 16);
    }
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);

    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    push_tasks(s, b, u, 10, 100, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    /* a's vtime grows from here, b's does not: b is more deserving at every later dispatch */
    for (size_t k = 0; k < 4; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 0); /* not refilled */
        assert_int_equal(sched_core_queued(s, k % 2), 1 - k / 2);
        assert_int_equal(sched_free_cores(s), 0);
    }
    /* core 0's queue has run out: its head finishes, it frees and goes to b */
    now += 10 * US;
    finish_head(s, a, 0, now);
    assert_int_equal(sched_free_cores(s), 1);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].client, b);
    assert_int_equal(g[0].task->cores[0], 0);
    /* core 1 too */
    now += 10 * US;
    finish_head(s, a, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].client, b);

    sched_client_remove(s, a, now);
    sched_client_remove(s, b, now);
    sched_destroy(s);
    unref_tasks(t, 40);
    unref_tasks(u, 10);
}

/* The same within a job: a sibling session with less core-time stops the refill just as well. */
static void test_lookahead_yields_to_sibling_session(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "mpi", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[40], *u[10];
    push_tasks(s, a, t, 40, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        sched_dispatch(s, now, g, 16);
    }
    sched_client_t *a2 = sched_client_add(s, 1, "mpi", 1, NULL);
    push_tasks(s, a2, u, 10, 100, now);
    for (size_t k = 0; k < 4; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        assert_int_equal(sched_dispatch(s, now, g, 16), 0);
    }
    now += 10 * US;
    finish_head(s, a, 0, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 1);
    assert_ptr_equal(g[0].client, a2);

    sched_client_remove(s, a, now);
    sched_client_remove(s, a2, now);
    sched_destroy(s);
    unref_tasks(t, 40);
    unref_tasks(u, 10);
}

/* Fair share with 10-us tasks on 2 cores over 1 s: lookahead keeps the 1:3 weights. */
static void test_lookahead_fair_share(void **state)
{
    (void)state;
    size_t queued = 0;
    share_run_on(sched_new_la(2, 0, 2), 1, 3, 3.0, 10 * US, SEC, 0.10, &queued);
    assert_true(queued > 1000); /* lookahead did happen */
    share_run_on(sched_new_la(2, 0, 4), 1, 3, 3.0, 10 * US, SEC, 0.10, &queued);
    assert_true(queued > 1000);
    share_run_on(sched_new_la(2, 0, 2), 1, 1, 1.0, 10 * US, SEC, 0.10, &queued);
    assert_true(queued > 1000);
}

/* Removing a client with queued tasks frees its cores at once. */
static void test_lookahead_client_remove(void **state)
{
    (void)state;
    sched_t *s = sched_new_la(2, 0, 2);
    sched_client_t *a = sched_client_add(s, 1, "a", 1, NULL);
    sched_grant_t g[16];
    uint64_t now = 0;
    task_t *t[40], *u[4];
    push_tasks(s, a, t, 40, 1, now);
    assert_int_equal(sched_dispatch(s, now, g, 16), 2);
    for (size_t k = 0; k < 8; k++) {
        now += 10 * US;
        finish_head(s, a, k % 2, now);
        sched_dispatch(s, now, g, 16);
    }
    assert_int_equal(sched_core_queued(s, 0), 2);
    assert_int_equal(sched_core_queued(s, 1), 2);
    sched_client_t *b = sched_client_add(s, 2, "b", 1, NULL);
    push_tasks(s, b, u, 4, 100, now);

    sched_client_remove(s, a, now + US);
    assert_int_equal(sched_free_cores(s), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_null(sched_core_task(s, i));
        assert_int_equal(sched_core_queued(s, i), 0);
    }
    assert_int_equal(sched_dispatch(s, now + US, g, 16), 2);
    assert_ptr_equal(g[0].client, b);
    assert_ptr_equal(g[1].client, b);
    assert_int_equal(sched_task_finished(s, b, g[0].task, now + 2 * US), 0);
    assert_int_equal(sched_task_finished(s, b, g[1].task, now + 2 * US), 0);

    sched_client_remove(s, b, now + 3 * US);
    sched_destroy(s);
    unref_tasks(t, 40);
    unref_tasks(u, 4);
}

/* ---- randomized simulation: core invariants and work conservation after every step ---- */

#define RS_CORES     4
#define RS_SLOTS     5
#define RS_MAX_TASKS 40000
#define RS_MAX_READY 48
#define RS_RESERVE   (15 * MS)
#define RS_MAX_DUR   (10 * MS)
#define RS_MAX_LA    2
#define RS_MAX_RUN   (RS_CORES * (1 + RS_MAX_LA))

typedef struct rs {
    sched_t *s;
    uint32_t lookahead;
    uint64_t now;
    sched_client_t *clients[RS_SLOTS];
    int slot_id[RS_SLOTS];
    task_t *ready[RS_SLOTS][RS_MAX_READY]; /* model of each client's ready queue */
    size_t nready[RS_SLOTS];
    running_t run[RS_MAX_RUN]; /* granted tasks: heads and queued ones */
    int run_slot[RS_MAX_RUN];
    size_t nrun;
    uint64_t core_end[RS_CORES]; /* when the last task granted on each core ends */
    task_t *all[RS_MAX_TASKS];
    uint64_t dur[RS_MAX_TASKS + 1], pushed[RS_MAX_TASKS + 1];
    size_t nall;
    uint64_t rng;
    uint64_t held_since; /* 1 + start of the current run of held idle cores; 0 if none */
    size_t grants, strict_checks, excused, out_of_order, queued_grants, promotions;
} rs_t;

static uint64_t rs_rand(rs_t *r, uint64_t n)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng % n;
}

/* The model's head of slot i: highest priority, then first pushed (ids grow with pushes). */
static size_t rs_head(const rs_t *r, size_t i)
{
    size_t h = 0;
    for (size_t k = 1; k < r->nready[i]; k++) {
        const task_t *t = r->ready[i][k], *b = r->ready[i][h];
        if (t->priority > b->priority || (t->priority == b->priority && t->id < b->id)) h = k;
    }
    return h;
}

/* Could a reservation be active? Only if some wide ready task has waited reserve_after_ns. */
static int rs_reservation_possible(const rs_t *r, size_t free_cores)
{
    for (size_t i = 0; i < RS_SLOTS; i++)
        for (size_t k = 0; k < r->nready[i]; k++) {
            const task_t *t = r->ready[i][k];
            if (t->ncores > free_cores && r->now - r->pushed[t->id] >= RS_RESERVE) return 1;
        }
    return 0;
}

static void rs_check(rs_t *r, int after_dispatch)
{
    task_t *head[RS_CORES] = {0};
    sched_client_t *head_client[RS_CORES] = {0};
    uint64_t head_end[RS_CORES] = {0};
    size_t queued[RS_CORES] = {0};
    size_t busy = 0, running[RS_SLOTS] = {0};
    /* heads first: a task is a head iff the scheduler names it for its first core */
    for (size_t k = 0; k < r->nrun; k++) {
        task_t *t = r->run[k].t;
        assert_int_equal(t->state, TASK_RUNNING);
        for (size_t l = 0; l < k; l++)
            assert_ptr_not_equal(r->run[l].t, t); /* no task granted twice */
        running[r->run_slot[k]]++;
        if (sched_core_task(r->s, t->cores[0]) != t) continue;
        for (uint32_t j = 0; j < t->ncores; j++) {
            uint32_t core = t->cores[j];
            assert_true(core < RS_CORES);
            assert_null(head[core]); /* at most one head per core */
            head[core] = t;
            head_client[core] = r->run[k].c;
            head_end[core] = r->run[k].end;
            assert_ptr_equal(sched_core_task(r->s, core), t);
        }
        busy += t->ncores;
    }
    /* queued tasks: 1-core, behind a 1-core head of the same client */
    for (size_t k = 0; k < r->nrun; k++) {
        task_t *t = r->run[k].t;
        uint32_t core = t->cores[0];
        if (head[core] == t) continue;
        assert_int_equal(t->ncores, 1);
        assert_true(core < RS_CORES);
        assert_non_null(head[core]);
        assert_int_equal(head[core]->ncores, 1);
        assert_ptr_equal(head_client[core], r->run[k].c);
        assert_true(r->run[k].end > head_end[core]); /* runs after its head */
        queued[core]++;
    }
    for (size_t i = 0; i < RS_CORES; i++) {
        if (!head[i]) assert_null(sched_core_task(r->s, i));
        assert_int_equal(sched_core_queued(r->s, i), queued[i]);
        assert_true(queued[i] <= r->lookahead);
    }
    size_t free_cores = sched_free_cores(r->s);
    assert_int_equal(free_cores + busy, RS_CORES);
    for (size_t i = 0; i < RS_SLOTS; i++) {
        if (!r->clients[i]) continue;
        assert_int_equal(sched_client_ready(r->clients[i]), r->nready[i]);
        assert_int_equal(sched_client_running(r->clients[i]), running[i]);
        for (size_t k = 0; k < r->nready[i]; k++)
            assert_int_equal(r->ready[i][k]->state, TASK_READY);
    }
    if (!after_dispatch) return;
    if (free_cores == 0) {
        r->held_since = 0;
        return;
    }
    /* work conserving: no client's next task fits in the idle cores, unless they are held */
    int fits = 0;
    for (size_t i = 0; i < RS_SLOTS; i++)
        if (r->clients[i] && r->nready[i] > 0 && r->ready[i][rs_head(r, i)]->ncores <= free_cores)
            fits = 1;
    if (!fits) {
        r->held_since = 0;
        return;
    }
    assert_true(rs_reservation_possible(r, free_cores));
    /* held cores wait only for granted tasks to end (a head and its queue), nothing new starts */
    if (!r->held_since) r->held_since = r->now + 1;
    assert_true(r->now + 1 - r->held_since <= (1 + r->lookahead) * RS_MAX_DUR);
    r->excused++;
}

static void rs_dispatch(rs_t *r)
{
    sched_grant_t g[RS_MAX_RUN];
    size_t n = sched_dispatch(r->s, r->now, g, RS_MAX_RUN);
    for (size_t k = 0; k < n; k++) {
        task_t *t = g[k].task;
        size_t i = (size_t) * (int *)sched_client_owner(g[k].client);
        assert_ptr_equal(r->clients[i], g[k].client);
        assert_int_equal(t->state, TASK_RUNNING);
        size_t h = rs_head(r, i), pos = r->nready[i];
        for (size_t j = 0; j < r->nready[i]; j++)
            if (r->ready[i][j] == t) pos = j;
        assert_true(pos < r->nready[i]);
        if (pos != h) {
            /* only a reserved wide task may overtake its client's head */
            assert_true(t->ncores > 1 && r->now - r->pushed[t->id] >= RS_RESERVE);
            r->out_of_order++;
        }
        if (t->ncores > 1) r->held_since = 0; /* a wide task placed: any hold ends */
        /* a queued task starts when the one before it on its core ends */
        uint64_t start = r->now;
        for (uint32_t j = 0; j < t->ncores; j++)
            if (r->core_end[t->cores[j]] > start) start = r->core_end[t->cores[j]];
        for (uint32_t j = 0; j < t->ncores; j++)
            r->core_end[t->cores[j]] = start + r->dur[t->id];
        if (sched_core_task(r->s, t->cores[0]) != t) r->queued_grants++;
        r->ready[i][pos] = r->ready[i][--r->nready[i]];
        assert_true(r->nrun < RS_MAX_RUN);
        r->run[r->nrun] = (running_t){t, g[k].client, start + r->dur[t->id]};
        r->run_slot[r->nrun++] = (int)i;
        r->grants++;
    }
    if (n > 0) r->strict_checks++;
    rs_check(r, 1);
}

static void rs_remove(rs_t *r, size_t i)
{
    sched_client_remove(r->s, r->clients[i], r->now);
    r->clients[i] = NULL;
    r->nready[i] = 0; /* the tasks stay in r->all; the "session" drops them */
    for (size_t k = 0; k < r->nrun;) {
        if (r->run_slot[k] == (int)i) {
            task_t *t = r->run[k].t;
            for (uint32_t j = 0; j < t->ncores; j++)
                r->core_end[t->cores[j]] = r->now; /* freed now, queue dropped */
            r->run[k] = r->run[--r->nrun];
            r->run_slot[k] = r->run_slot[r->nrun];
        } else {
            k++;
        }
    }
}

static void rs_arrival(rs_t *r)
{
    size_t i = (size_t)rs_rand(r, RS_SLOTS);
    if (!r->clients[i]) {
        uint32_t w = (uint32_t)rs_rand(r, 4) + 1;
        /* slots 0 and 1 share a job */
        r->clients[i] = i < 2 ? sched_client_add(r->s, 1, "shared", w, &r->slot_id[i])
                              : sched_client_add(r->s, 10 + (uint32_t)i, "own", w, &r->slot_id[i]);
        assert_non_null(r->clients[i]);
        return;
    }
    uint64_t action = rs_rand(r, 100);
    if (action < 3) {
        rs_remove(r, i);
        rs_check(r, 0);
        return;
    }
    if (action < 6) sched_client_set_weight(r->s, r->clients[i], (uint32_t)rs_rand(r, 6), r->now);
    for (uint64_t n = rs_rand(r, 4) + 1; n > 0; n--) {
        if (r->nall == RS_MAX_TASKS || r->nready[i] == RS_MAX_READY) return;
        task_t *t = ready_task(r->nall + 1, (int32_t)rs_rand(r, 3), (uint32_t)rs_rand(r, 3) + 1);
        r->all[r->nall++] = t;
        r->dur[t->id] = (rs_rand(r, 20) + 1) * RS_MAX_DUR / 20;
        r->pushed[t->id] = r->now;
        r->ready[i][r->nready[i]++] = t;
        assert_int_equal(sched_push_ready(r->s, r->clients[i], t, r->now), 0);
    }
}

/* Finishes every task due by now, earliest first (a core's tasks end in their queue order). */
static void rs_finish_due(rs_t *r)
{
    for (;;) {
        size_t first = r->nrun;
        for (size_t k = 0; k < r->nrun; k++)
            if (r->run[k].end <= r->now && (first == r->nrun || r->run[k].end < r->run[first].end))
                first = k;
        if (first == r->nrun) return;
        task_t *t = r->run[first].t;
        sched_client_t *c = r->run[first].c;
        assert_int_equal(sched_task_finished(r->s, c, t, r->now), 0);
        task_t *next = sched_core_task(r->s, t->cores[0]);
        if (next) {
            /* promoted: the first queued task of the same client, charged from now */
            assert_int_equal(t->ncores, 1);
            assert_ptr_not_equal(next, t);
            assert_int_equal(next->start_ns, r->now);
            int found = 0;
            for (size_t k = 0; k < r->nrun; k++)
                if (r->run[k].t == next) {
                    assert_ptr_equal(r->run[k].c, c);
                    found = 1;
                }
            assert_true(found);
            r->promotions++;
        }
        r->run[first] = r->run[--r->nrun];
        r->run_slot[first] = r->run_slot[r->nrun];
    }
}

static void random_invariants_run(uint32_t lookahead, uint64_t lookahead_max_ns)
{
    rs_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->lookahead = lookahead;
    r->s = sched_new_full(RS_CORES, 1, 8, RS_RESERVE, lookahead, lookahead_max_ns);
    r->rng = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < RS_SLOTS; i++)
        r->slot_id[i] = (int)i;

    uint64_t next_arrival = 0;
    for (size_t step = 0; step < 60000; step++) {
        uint64_t next_end = UINT64_MAX;
        for (size_t k = 0; k < r->nrun; k++)
            if (r->run[k].end < next_end) next_end = r->run[k].end;
        r->now = next_end < next_arrival ? next_end : next_arrival;
        rs_finish_due(r);
        rs_check(r, 0);
        if (r->now >= next_arrival) {
            rs_arrival(r);
            /* about 80% load on average: queues build up and drain, wide tasks wait */
            next_arrival = r->now + rs_rand(r, 16 * MS);
        }
        rs_dispatch(r);
    }

    /* no more arrivals: everything queued must still run (no task starves, nothing stalls) */
    for (size_t guard = 0; r->nrun > 0; guard++) {
        assert_true(guard < 100000);
        uint64_t next_end = UINT64_MAX;
        for (size_t k = 0; k < r->nrun; k++)
            if (r->run[k].end < next_end) next_end = r->run[k].end;
        r->now = next_end;
        rs_finish_due(r);
        rs_dispatch(r);
    }
    for (size_t i = 0; i < RS_SLOTS; i++)
        assert_int_equal(r->nready[i], 0);

    assert_true(r->grants > 5000);
    assert_true(r->excused > 0);      /* reservations did happen */
    assert_true(r->out_of_order > 0); /* and a reserved task overtook a head */
    assert_true(r->excused < r->strict_checks);
    if (lookahead == 0) {
        assert_int_equal(r->queued_grants, 0);
        assert_int_equal(r->promotions, 0);
    } else {
        /* lookahead happened, often, and every queued task was promoted or dropped */
        assert_true(r->queued_grants > 500);
        assert_true(r->promotions > 500);
        assert_true(r->promotions <= r->queued_grants);
    }

    for (size_t i = 0; i < RS_SLOTS; i++)
        if (r->clients[i]) sched_client_remove(r->s, r->clients[i], r->now);
    sched_destroy(r->s);
    for (size_t k = 0; k < r->nall; k++)
        task_unref(r->all[k]);
    free(r);
}

static void test_random_invariants(void **state)
{
    (void)state;
    random_invariants_run(0, 0);
}

/*
 * The same with lookahead. Task times are 0.5-10 ms here; calling tasks "short" below 5 ms makes
 * clients move in and out of lookahead as their average drifts.
 */
static void test_random_invariants_lookahead(void **state)
{
    (void)state;
    random_invariants_run(RS_MAX_LA, 5 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_input),
        cmocka_unit_test(test_destroy_with_clients_left),
        cmocka_unit_test(test_priorities_and_fifo),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_core_ns_includes_running),
        cmocka_unit_test(test_fair_share_weighted),
        cmocka_unit_test(test_fair_share_equal),
        cmocka_unit_test(test_weight_change_no_jump),
        cmocka_unit_test(test_shared_job_one_share),
        cmocka_unit_test(test_newcomer_does_not_monopolise),
        cmocka_unit_test(test_idle_job_hoards_no_credit),
        cmocka_unit_test(test_idle_node_no_credit),
        cmocka_unit_test(test_session_joins_running_job),
        cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_wide_task_reservation),
        cmocka_unit_test(test_wide_task_reserve_at_once),
        cmocka_unit_test(test_client_remove),
        cmocka_unit_test(test_lookahead_warmup_and_promote),
        cmocka_unit_test(test_lookahead_needs_short_tasks),
        cmocka_unit_test(test_lookahead_one_core_tasks_only),
        cmocka_unit_test(test_lookahead_not_during_reservation),
        cmocka_unit_test(test_lookahead_yields_to_deserving_job),
        cmocka_unit_test(test_lookahead_yields_to_sibling_session),
        cmocka_unit_test(test_lookahead_fair_share),
        cmocka_unit_test(test_lookahead_client_remove),
        cmocka_unit_test(test_set_config),
        cmocka_unit_test(test_random_invariants),
        cmocka_unit_test(test_random_invariants_lookahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
