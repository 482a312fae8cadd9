/*
 * Randomized test of the core scheduler (daemon/sched.c): arrivals, dispatches, finishes and
 * removals at random, checking the core invariants (one body per core, queues only behind
 * 1-core heads) and work conservation after every step, with and without lookahead.
 */
#include "sched_test_util.h"

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
        cmocka_unit_test(test_random_invariants),
        cmocka_unit_test(test_random_invariants_lookahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
