/*
 * Unit tests for fair share in the core scheduler (daemon/sched.c): streaming simulations where
 * every client always has ready tasks, asserting core-time shares against the weights, no credit
 * for idle time, no monopoly for newcomers, and that lookahead keeps the shares.
 */
#include "sched_test_util.h"

/* ---- streaming simulation: every client always has ready tasks of one duration ---- */

#define SIM_CLIENTS 4

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fair_share_weighted),
        cmocka_unit_test(test_fair_share_equal),
        cmocka_unit_test(test_weight_change_no_jump),
        cmocka_unit_test(test_shared_job_one_share),
        cmocka_unit_test(test_newcomer_does_not_monopolise),
        cmocka_unit_test(test_idle_job_hoards_no_credit),
        cmocka_unit_test(test_idle_node_no_credit),
        cmocka_unit_test(test_session_joins_running_job),
        cmocka_unit_test(test_lookahead_fair_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
