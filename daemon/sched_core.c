/*
 * The scheduler's cores: placement of a task on free cores, the per-core lookahead FIFO, and
 * what happens when a task's body returns (charge, promote the next queued task or free the
 * core). Policy is described in sched.h; fair share, clients and dispatch live in sched.c.
 *
 * Data structures:
 *   - per core: the head task and its client, the last client, and a ring of up to
 *     cfg.lookahead queued tasks of the head's client, stored in one array (s->queue) at
 *     index * SCHED_LOOKAHEAD_MAX, so queuing and promoting never allocate, and a reload can
 *     change cfg.lookahead while tasks are queued (a lower limit lets longer queues run down);
 *   - per client: a bitmap of the cores it heads (`held`), so the lookahead pass and client
 *     removal visit only that client's cores instead of walking every core.
 *
 * A core stays busy from the grant of its head until a head finishes with nothing queued behind
 * it, and is charged to the head's client for all that time (the account's run_cores counts the
 * core once, whatever its queue holds). A promoted task therefore needs no account change: its
 * start_ns is set to the finish time of the task before it, and charging simply continues.
 *
 * Loop thread only; pure logic with injected time.
 */
#include <stdlib.h>

#include "nodus.h"
#include "sched_internal.h"

/* Cap on one sample of the task-time average, so 7 * average cannot overflow. */
#define SCHED_EMA_SAMPLE_MAX (UINT64_C(3600) * 1000000000u)

int sched_cores_init(sched_t *s)
{
    if (s->cfg.lookahead > SCHED_LOOKAHEAD_MAX) s->cfg.lookahead = SCHED_LOOKAHEAD_MAX;
    /* always the largest depth: lookahead may be turned on or raised later (sched_set_config) */
    s->queue = calloc(s->ncores * SCHED_LOOKAHEAD_MAX, sizeof *s->queue);
    s->candidates = calloc(s->ncores, sizeof *s->candidates);
    if (!s->queue || !s->candidates) {
        sched_cores_free(s);
        return NODUS_ENOMEM;
    }
    return 0;
}

void sched_cores_free(sched_t *s)
{
    free(s->queue);
    free(s->candidates);
    s->queue = NULL;
    s->candidates = NULL;
}

void sched_core_set_last(sched_t *s, size_t i, sched_client_t *c)
{
    sched_core_t *core = &s->cores[i];
    if (core->last_client == c) return;
    if (core->last_client)
        bit_clear(core->last_client->affine, i);
    else
        bit_clear(s->orphan_map, i);
    core->last_client = c;
    if (c)
        bit_set(c->affine, i);
    else
        bit_set(s->orphan_map, i);
}

/*
 * A free core for c: one it ran on last, else one nobody (alive) ran on, else the lowest. When
 * CPU devices exist, cores no device may hold go first (same order among them), so a device
 * finds its cores free more often; the others are used when those are busy.
 */
static size_t core_choose(const sched_t *s, const sched_client_t *c)
{
    long i = -1;
    if (s->any_device_cores) {
        i = bits_first3(s->free_map, c->affine, s->plain_map, s->nwords);
        if (i < 0) i = bits_first3(s->free_map, s->orphan_map, s->plain_map, s->nwords);
        if (i < 0) i = bits_first(s->free_map, s->plain_map, s->nwords);
        if (i >= 0) return (size_t)i;
    }
    i = bits_first(s->free_map, c->affine, s->nwords);
    if (i < 0) i = bits_first(s->free_map, s->orphan_map, s->nwords);
    if (i < 0) i = bits_first(s->free_map, NULL, s->nwords);
    return (size_t)i; /* callers check nfree first, so one exists */
}

void sched_core_release(sched_t *s, size_t i)
{
    sched_core_t *core = &s->cores[i];
    if (core->client) bit_clear(core->client->held, i);
    core->task = NULL;
    core->client = NULL;
    core->qhead = core->qlen = 0;
    bit_set(s->free_map, i);
    s->nfree++;
}

/* Common part of placing and queuing: t leaves the ready heap and becomes RUNNING (granted). */
static void task_grant(sched_client_t *c, task_t *t, uint64_t now)
{
    sched_ready_remove(c, t);
    if (c->wait_task == t) c->wait_task = NULL;
    c->nrunning++;
    c->job->nrunning++;
    t->state = TASK_RUNNING;
    t->start_ns = now;
    t->grant_ns = now;
}

int sched_core_place(sched_t *s, sched_client_t *c, task_t *t, uint64_t now)
{
    sched_job_t *j = c->job;
    uint32_t k = t->ncores;
    uint32_t *cores = &t->core0;
    if (k > 1) {
        cores = malloc(k * sizeof *cores);
        if (!cores) return NODUS_ENOMEM;
    }
    if (t->cores && t->cores != &t->core0)
        free(t->cores); /* left from an earlier grant; task_unref would free only the last */
    t->cores = cores;

    for (uint32_t n = 0; n < k; n++) {
        size_t i = core_choose(s, c);
        bit_clear(s->free_map, i);
        bit_set(c->held, i);
        s->cores[i].task = t;
        s->cores[i].client = c;
        cores[n] = (uint32_t)i;
    }
    s->nfree -= k;

    account_advance(&c->acct, now);
    account_advance(&j->acct, now);
    c->acct.run_cores += k;
    j->acct.run_cores += k;
    task_grant(c, t, now);
    if (s->reserve_task == t) {
        s->reserve_task = NULL;
        s->reserve_client = NULL;
    }
    return 0;
}

/* ---- lookahead ---- */

static task_t **core_queue(const sched_t *s, size_t i)
{
    return &s->queue[i * SCHED_LOOKAHEAD_MAX];
}

/* Queues 1-core task t of c, the head's client, behind the head of core i. */
static void core_enqueue(sched_t *s, size_t i, sched_client_t *c, task_t *t, uint64_t now)
{
    sched_core_t *core = &s->cores[i];
    if (t->cores && t->cores != &t->core0) free(t->cores);
    t->core0 = (uint32_t)i;
    t->cores = &t->core0;
    core_queue(s, i)[(core->qhead + core->qlen) % SCHED_LOOKAHEAD_MAX] = t;
    core->qlen++;
    task_grant(c, t, now); /* start_ns is set again when it becomes the head */
}

/* Can lookahead queue t: a 1-core task with nothing but a CPU implementation? */
static bool task_lookahead_ok(const task_t *t)
{
    return t->ncores == 1 && task_cpu_only(t);
}

/*
 * The task lookahead would queue next for c: its CPU-only head, when it is 1-core and c's
 * device-capable head does not claim the next free core before it (claim as sched_device_claim
 * said at the start of the pass: queuing CPU tasks does not change it). NULL: queue nothing.
 */
static task_t *lookahead_next(const sched_client_t *c, sched_head_claim_t claim)
{
    if (c->ready.n == 0 || claim == SCHED_HEAD_FIRST) return NULL;
    task_t *t = c->ready.v[0];
    if (!task_lookahead_ok(t)) return NULL;
    if (claim == SCHED_HEAD_IN_ORDER && task_before(c->dev_ready.v[0], t)) return NULL;
    return t;
}

/*
 * Could c take lookahead grants, fair share and its device-capable tasks aside? Its tasks must be
 * short and 1-core, and CPU-only: a device task is never queued (its placement is decided when it
 * is granted on a free core), and held cores have no head, so nothing is ever queued on them.
 */
static bool client_lookahead_ok(const sched_t *s, const sched_client_t *c)
{
    return c->acct.run_cores > 0 && c->ready.n > 0 && c->task_samples >= SCHED_EMA_MIN_SAMPLES &&
           c->task_ema_ns < s->cfg.lookahead_max_ns;
}

/*
 * Fills the queues of the 1-core heads of c, level by level (every candidate core gets its
 * first queued task before any gets a second), so a few ready tasks spread over the cores
 * instead of lining up behind one of them while another core runs dry. A device-capable task
 * that would take c's next free core (device-first, or first in order on the CPU) stops the
 * filling, so c's cores drain and the first to free goes to it.
 */
static size_t client_lookahead(sched_t *s, sched_client_t *c, uint64_t now, sched_grant_t *out,
                               size_t max)
{
    sched_head_claim_t claim = sched_device_claim(s, c);
    if (claim == SCHED_HEAD_FIRST) return 0;
    uint32_t depth = s->cfg.lookahead;
    size_t ncand = 0;
    for (size_t w = 0; w < s->nwords; w++) {
        for (uint64_t x = c->held[w]; x; x &= x - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(x);
            const sched_core_t *core = &s->cores[i];
            if (core->task->ncores != 1 || core->qlen >= s->cfg.lookahead) continue;
            s->candidates[ncand++] = (uint32_t)i;
            if (core->qlen < depth) depth = core->qlen;
        }
    }
    size_t n = 0;
    for (; depth < s->cfg.lookahead; depth++) {
        for (size_t k = 0; k < ncand; k++) {
            size_t i = s->candidates[k];
            if (s->cores[i].qlen != depth) continue;
            task_t *t = n < max ? lookahead_next(c, claim) : NULL;
            if (!t) return n;
            core_enqueue(s, i, c, t, now);
            out[n] = (sched_grant_t){.task = t, .client = c, .kind = SCHED_KIND_CPU};
            n++;
        }
    }
    return n;
}

/*
 * Only the sessions fair share would serve next take lookahead grants: those of the jobs with
 * ready work and the smallest vtime, and within such a job those with ready work and the least
 * core-time (ties allowed at both levels). Queued tasks are charged only once they become heads,
 * so queuing changes no vtime and the minima hold for the whole pass.
 */
size_t sched_core_lookahead(sched_t *s, uint64_t now, sched_grant_t *out, size_t max)
{
    if (s->cfg.lookahead == 0 || s->reserve_task || max == 0) return 0;
    bool any = false;
    int64_t vmin = 0;
    for (const sched_job_t *j = s->jobs; j; j = j->next) {
        if (j->nready_clients == 0) continue;
        int64_t v = job_vtime(j, now);
        if (!any || v < vmin) vmin = v;
        any = true;
    }
    size_t n = 0;
    for (sched_job_t *j = s->jobs; any && j; j = j->next) {
        if (j->nready_clients == 0 || job_vtime(j, now) > vmin) continue;
        uint64_t cmin = UINT64_MAX;
        for (const sched_client_t *c = j->clients; c; c = c->next) {
            if (client_nready(c) == 0) continue;
            uint64_t v = client_vtime(c, now);
            if (v < cmin) cmin = v;
        }
        for (sched_client_t *c = j->clients; c; c = c->next) {
            if (!client_lookahead_ok(s, c) || client_vtime(c, now) > cmin) continue;
            n += client_lookahead(s, c, now, out + n, max - n);
            if (n == max) return n;
        }
    }
    return n;
}

/* Adds one finished 1-core task's duration to c's moving average (alpha = 1/8). */
static void client_sample(sched_client_t *c, uint64_t ns)
{
    if (ns > SCHED_EMA_SAMPLE_MAX) ns = SCHED_EMA_SAMPLE_MAX;
    c->task_ema_ns = c->task_samples == 0 ? ns : (c->task_ema_ns * 7 + ns) / 8;
    if (c->task_samples < SCHED_EMA_MIN_SAMPLES) c->task_samples++;
}

/*
 * A CPU-granted task stays RUNNING: the session calls deps_complete() next, which marks it DONE
 * and releases its successors. Keeping the state change there means one place owns DONE. A
 * device-granted one becomes TASK_DEVICE (sched_device.c) until its device work completes.
 */
int sched_task_finished(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns)
{
    if (!s || !c || !t || t->state != TASK_RUNNING || !t->cores || t->ncores == 0 ||
        t->ncores > s->ncores)
        return NODUS_EINVAL;
    /* only heads finish: a queued task (or another client's) fails here, changing nothing */
    for (uint32_t n = 0; n < t->ncores; n++) {
        uint32_t i = t->cores[n];
        if (i >= s->ncores || s->cores[i].task != t || s->cores[i].client != c) return NODUS_EINVAL;
    }
    sched_job_t *j = c->job;
    sched_note_time(s, now_ns);
    bool job_was_active = job_active(j), client_was_active = client_active(c);

    account_advance(&c->acct, now_ns);
    account_advance(&j->acct, now_ns);
    /* a device body only enqueues: its time says nothing about the client's CPU tasks */
    bool on_device = t->grant_kind != SCHED_KIND_CPU;
    if (t->ncores == 1 && !on_device)
        client_sample(c, now_ns > t->start_ns ? now_ns - t->start_ns : 0);
    uint32_t freed = 0;
    for (uint32_t n = 0; n < t->ncores; n++) {
        size_t i = t->cores[n];
        sched_core_t *core = &s->cores[i];
        sched_core_set_last(s, i, c);
        if (core->qlen > 0) {
            /* the worker started the next one as this body returned: the core stays busy */
            task_t *next = core_queue(s, i)[core->qhead];
            core->qhead = (core->qhead + 1) % SCHED_LOOKAHEAD_MAX;
            core->qlen--;
            core->task = next;
            next->start_ns = now_ns;
        } else {
            sched_core_release(s, i);
            freed++;
        }
    }
    c->acct.run_cores -= freed;
    j->acct.run_cores -= freed;
    c->nrunning--;
    j->nrunning--;
    if (on_device)
        sched_device_body_finished(c, t);
    else
        sched_device_cpu_finished(c, t, now_ns);
    sched_client_maybe_idle(s, c, job_was_active, client_was_active, now_ns);
    return 0;
}

/* ---- queries ---- */

size_t sched_ncores(const sched_t *s)
{
    return s->ncores;
}

uint32_t sched_core_cpu(const sched_t *s, size_t i)
{
    return i < s->ncores ? s->cores[i].cpu : 0;
}

task_t *sched_core_task(const sched_t *s, size_t i)
{
    return i < s->ncores ? s->cores[i].task : NULL;
}

size_t sched_core_queued(const sched_t *s, size_t i)
{
    return i < s->ncores ? s->cores[i].qlen : 0;
}

sched_client_t *sched_core_last_client(const sched_t *s, size_t i)
{
    return i < s->ncores ? s->cores[i].last_client : NULL;
}

size_t sched_free_cores(const sched_t *s)
{
    return s->nfree;
}
