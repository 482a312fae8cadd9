/*
 * The core scheduler: weighted fair share between jobs, least core-time between the sessions of
 * a job, priorities within a session (its two ready heaps), and dispatch. Policy and invariants are
 * described in sched.h; this file explains how they are kept cheap. Cores (placement, lookahead
 * queues, finishing) are in sched_core.c; the structures both files share in sched_internal.h.
 *
 * Data structures:
 *   - cores: an array of {head task, its client, last client, OS cpu, lookahead FIFO}, plus
 *     bitmaps (free cores, cores whose last client is NULL, and per client the cores it ran on
 *     last and the cores it heads), so choosing a core costs a few scans of n/64 words instead
 *     of a walk over the cores.
 *   - jobs: a list; each job has a weight, a core-time account and a virtual-time offset, and
 *     a list of its clients. Picking the next job is one pass over the jobs.
 *   - clients: two binary max-heaps of ready tasks ordered by (priority desc, seq asc), one for
 *     CPU-only tasks and one for tasks that offer a device kind, with each task's slot in
 *     task->heap_pos so a task can also leave from the middle (reservations). Which heap holds a
 *     task follows from task->impls, so nothing records it.
 *
 * Accounting is incremental: an account holds the core-ns charged up to `since_ns` and the
 * number of cores its running tasks hold, so "core-ns used up to now" is one multiply and a
 * task that finishes has been charged exactly (now - start_ns) x ncores.
 *
 * Virtual times. A job's vtime is vbase + used / weight; the job with ready work and the
 * smallest vtime goes next. When a job becomes active (no ready and no running work -> ready
 * work) vbase is raised so that its vtime is at least the smallest vtime of the active jobs, or,
 * when none is active, the vtime of the last job that went idle: an idle job cannot bank credit
 * and a newcomer cannot monopolise the node until it has "caught up". The sessions of one job are
 * ordered the same way by core-time used (weight 1), with the same lift, so a session that joins
 * a long-running job shares with its siblings instead of running alone until it catches up.
 *
 * Dispatch. One grant costs a pass over the jobs, a pass over the chosen job's clients, a heap
 * pop and a few bitmap scans per core. A client whose head task is wider than the free cores is
 * stamped with the call's epoch and skipped for the rest of the call (free cores only shrink
 * within a call), so others backfill. The client remembers when that head was first passed
 * over; once it has waited reserve_after_ns it becomes the reservation, and dispatch places
 * nothing else until enough cores are free for it. Only the heads of a client are candidates:
 * a client's own later tasks never overtake them, whatever their width. Between its two heads
 * the device-capable one goes first when it goes to a device (sched_device_first: a look at
 * the device options, bounded by the number of devices, and the model's hash lookup), else the
 * first in (priority, seq) order, so a grant still costs O(log n) in the ready tasks.
 *
 * Lookahead runs after the free cores are filled, as one pass (sched_core_lookahead): a pass
 * over the jobs for the smallest vtime, then for each session fair share would serve next a
 * scan of the cores it heads. Its cost does not grow with the number of grants.
 *
 * Loop thread only; pure logic with injected time.
 */
#include "sched.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"
#include "sched_internal.h"

/* Called while j is still inactive: lift its vtime to the active jobs' minimum (or the floor). */
static void job_activate(sched_t *s, sched_job_t *j, uint64_t now)
{
    int64_t target = s->vfloor;
    bool any = false;
    if (s->nactive_jobs > 0) {
        for (sched_job_t *o = s->jobs; o; o = o->next) {
            if (o == j || !job_active(o)) continue;
            int64_t v = job_vtime(o, now);
            if (!any || v < target) target = v;
            any = true;
        }
    }
    int64_t v = job_vtime(j, now);
    if (v < target) j->vbase += target - v;
    s->nactive_jobs++;
}

/* Called once j has no ready and no running work left. */
static void job_deactivate(sched_t *s, sched_job_t *j, uint64_t now)
{
    s->nactive_jobs--;
    if (s->nactive_jobs == 0) {
        int64_t v = job_vtime(j, now);
        if (v > s->vfloor) s->vfloor = v;
    }
}

/* The same lift for a client among its job's active clients. */
static void client_activate(sched_client_t *c, uint64_t now)
{
    sched_job_t *j = c->job;
    uint64_t target = j->client_floor;
    bool any = false;
    if (j->nactive_clients > 0) {
        for (sched_client_t *o = j->clients; o; o = o->next) {
            if (o == c || !client_active(o)) continue;
            uint64_t v = client_vtime(o, now);
            if (!any || v < target) target = v;
            any = true;
        }
    }
    uint64_t v = client_vtime(c, now);
    if (v < target) c->vbase += target - v;
    j->nactive_clients++;
}

static void client_deactivate(sched_client_t *c, uint64_t now)
{
    sched_job_t *j = c->job;
    j->nactive_clients--;
    if (j->nactive_clients == 0) {
        uint64_t v = client_vtime(c, now);
        if (v > j->client_floor) j->client_floor = v;
    }
}

void sched_client_maybe_idle(sched_t *s, sched_client_t *c, bool job_was_active,
                             bool client_was_active, uint64_t now)
{
    if (client_was_active && !client_active(c)) client_deactivate(c, now);
    if (job_was_active && !job_active(c->job)) job_deactivate(s, c->job, now);
}

static uint32_t weight_norm(const sched_t *s, uint32_t w)
{
    if (w == 0) w = s->cfg.default_weight;
    return w > s->cfg.max_weight ? s->cfg.max_weight : w;
}

/* Changes a job's weight without a jump in its vtime: past core-time keeps its old price. */
static void job_set_weight(sched_job_t *j, uint32_t w, uint64_t now)
{
    if (w == j->weight) return;
    uint64_t used = account_used(&j->acct, now);
    j->vbase += (int64_t)(used / j->weight) - (int64_t)(used / w);
    j->weight = w;
}

/* ---- ready heaps ---- */

static void heap_put(sched_heap_t *h, uint32_t i, task_t *t)
{
    h->v[i] = t;
    t->heap_pos = i;
}

static void heap_up(sched_heap_t *h, uint32_t i)
{
    task_t *t = h->v[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!task_before(t, h->v[parent])) break;
        heap_put(h, i, h->v[parent]);
        i = parent;
    }
    heap_put(h, i, t);
}

static void heap_down(sched_heap_t *h, uint32_t i)
{
    task_t *t = h->v[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->n) break;
        if (child + 1 < h->n && task_before(h->v[child + 1], h->v[child])) child++;
        if (!task_before(h->v[child], t)) break;
        heap_put(h, i, h->v[child]);
        i = child;
    }
    heap_put(h, i, t);
}

static void heap_remove(sched_heap_t *h, uint32_t i)
{
    task_t *last = h->v[--h->n];
    if (i == h->n) return;
    heap_put(h, i, last);
    heap_up(h, i);
    heap_down(h, last->heap_pos);
}

/* Room for one more task; 0 or NODUS_ENOMEM. */
static int heap_reserve(sched_heap_t *h)
{
    if (h->n < h->cap) return 0;
    if (h->cap > UINT32_MAX / 2) return NODUS_ENOMEM;
    uint32_t cap = h->cap ? h->cap * 2 : 16;
    task_t **v = realloc(h->v, (size_t)cap * sizeof *v);
    if (!v) return NODUS_ENOMEM;
    h->v = v;
    h->cap = cap;
    return 0;
}

/* The heap a ready task of c lives in: device-capable tasks apart from CPU-only ones. */
static sched_heap_t *client_heap(sched_client_t *c, const task_t *t)
{
    return task_cpu_only(t) ? &c->ready : &c->dev_ready;
}

void sched_ready_remove(sched_client_t *c, task_t *t)
{
    heap_remove(client_heap(c, t), t->heap_pos);
    if (client_nready(c) == 0) c->job->nready_clients--;
}

/* ---- picking ---- */

/* Marks c as passed over for the rest of this dispatch call (free cores only shrink in it). */
static void client_block(sched_t *s, sched_client_t *c)
{
    sched_job_t *j = c->job;
    c->blocked_epoch = s->epoch;
    if (j->blocked_epoch != s->epoch) {
        j->blocked_epoch = s->epoch;
        j->nblocked = 0;
    }
    j->nblocked++;
}

static bool job_eligible(const sched_t *s, const sched_job_t *j)
{
    uint32_t blocked = j->blocked_epoch == s->epoch ? j->nblocked : 0;
    return j->nready_clients > blocked;
}

static sched_job_t *job_pick(const sched_t *s, uint64_t now)
{
    sched_job_t *best = NULL;
    int64_t best_v = 0;
    for (sched_job_t *j = s->jobs; j; j = j->next) {
        if (!job_eligible(s, j)) continue;
        int64_t v = job_vtime(j, now);
        if (!best || v < best_v) {
            best = j;
            best_v = v;
        }
    }
    return best;
}

static sched_client_t *client_pick(const sched_t *s, const sched_job_t *j, uint64_t now)
{
    sched_client_t *best = NULL;
    uint64_t best_v = 0;
    for (sched_client_t *c = j->clients; c; c = c->next) {
        if (client_nready(c) == 0 || c->blocked_epoch == s->epoch) continue;
        uint64_t v = client_vtime(c, now);
        if (!best || v < best_v) {
            best = c;
            best_v = v;
        }
    }
    return best;
}

/* ---- public ---- */

/* Keeps weights usable whatever the config holds: 1 <= default <= max <= absolute cap. */
static void config_normalise(sched_config_t *cfg)
{
    if (cfg->max_weight == 0 || cfg->max_weight > NODUS_MAX_WEIGHT)
        cfg->max_weight = NODUS_MAX_WEIGHT;
    if (cfg->default_weight == 0) cfg->default_weight = 1;
    if (cfg->default_weight > cfg->max_weight) cfg->default_weight = cfg->max_weight;
    if (cfg->lookahead > SCHED_LOOKAHEAD_MAX) cfg->lookahead = SCHED_LOOKAHEAD_MAX;
}

sched_t *sched_create(const uint32_t *cpus, size_t ncores, const sched_config_t *cfg)
{
    if (!cpus || !cfg || ncores == 0 || ncores > NODUS_MAX_CORES) return NULL;
    sched_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cfg = *cfg;
    config_normalise(&s->cfg);
    s->ncores = ncores;
    s->nwords = (ncores + 63) / 64;
    s->cores = calloc(ncores, sizeof *s->cores);
    s->free_map = calloc(s->nwords, sizeof *s->free_map);
    s->orphan_map = calloc(s->nwords, sizeof *s->orphan_map);
    if (!s->cores || !s->free_map || !s->orphan_map || sched_cores_init(s) < 0) {
        sched_cores_free(s);
        free(s->cores);
        free(s->free_map);
        free(s->orphan_map);
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < ncores; i++) {
        s->cores[i].cpu = cpus[i];
        bit_set(s->free_map, i);
        bit_set(s->orphan_map, i);
    }
    s->nfree = ncores;
    s->kinds = SCHED_IMPL_CPU;
    return s;
}

void sched_destroy(sched_t *s)
{
    if (!s) return;
    /* the contract says every client is gone; free any leftovers rather than leak them */
    while (s->jobs)
        sched_client_remove(s, s->jobs->clients, s->now_ns);
    sched_devices_free(s);
    sched_cores_free(s);
    free(s->cores);
    free(s->free_map);
    free(s->orphan_map);
    free(s);
}

sched_client_t *sched_client_add(sched_t *s, uint32_t uid, const char *job, uint32_t weight,
                                 void *owner)
{
    if (!s) return NULL;
    if (!job) job = "";
    sched_job_t *j = s->jobs;
    while (j && (j->uid != uid || strncmp(j->name, job, NODUS_MAX_NAME) != 0))
        j = j->next;

    sched_client_t *c = calloc(1, sizeof *c);
    uint64_t *affine = calloc(s->nwords, sizeof *affine);
    uint64_t *held = calloc(s->nwords, sizeof *held);
    uint32_t *dev_in_flight = s->ndevices ? calloc(s->ndevices, sizeof *dev_in_flight) : NULL;
    sched_job_t *new_job = j ? NULL : calloc(1, sizeof *new_job);
    if (!c || !affine || !held || (s->ndevices && !dev_in_flight) || (!j && !new_job)) {
        free(c);
        free(affine);
        free(held);
        free(dev_in_flight);
        free(new_job);
        return NULL;
    }
    if (new_job) {
        j = new_job;
        j->uid = uid;
        /* names longer than the protocol allows were rejected upstream; truncate defensively */
        strncpy(j->name, job, NODUS_MAX_NAME);
        j->weight = weight_norm(s, weight);
        j->asked = weight;
        j->next = s->jobs;
        if (s->jobs) s->jobs->prev = j;
        s->jobs = j;
    } else if (weight != 0) {
        /* 0 asks for nothing: the job keeps the weight its other sessions set */
        job_set_weight(j, weight_norm(s, weight), s->now_ns);
        j->asked = weight;
    }
    c->affine = affine;
    c->held = held;
    c->dev_in_flight = dev_in_flight;
    c->ndev = s->ndevices;
    placement_models_init(&c->models);
    c->owner = owner;
    c->job = j;
    c->next = j->clients;
    if (j->clients) j->clients->prev = c;
    j->clients = c;
    j->nclients++;
    return c;
}

void sched_client_remove(sched_t *s, sched_client_t *c, uint64_t now_ns)
{
    if (!s || !c) return;
    sched_job_t *j = c->job;
    sched_note_time(s, now_ns);
    bool job_was_active = job_active(j), client_was_active = client_active(c);

    if (s->reserve_client == c) {
        s->reserve_task = NULL;
        s->reserve_client = NULL;
    }

    /* running and queued tasks: the cores it heads free at once (releasing clears the bit) */
    account_advance(&c->acct, now_ns);
    account_advance(&j->acct, now_ns);
    for (size_t w = 0; w < s->nwords; w++) {
        while (c->held[w]) {
            sched_core_release(s, w * 64 + (size_t)__builtin_ctzll(c->held[w]));
            c->acct.run_cores--;
            j->acct.run_cores--;
        }
    }
    j->nrunning -= c->nrunning;
    c->nrunning = 0;
    sched_device_client_remove(s, c, now_ns);

    /* ready tasks (both heaps) just leave; they belong to the session */
    if (client_nready(c) > 0) j->nready_clients--;
    c->ready.n = 0;
    c->dev_ready.n = 0;
    sched_client_maybe_idle(s, c, job_was_active, client_was_active, now_ns);

    for (size_t w = 0; w < s->nwords; w++) {
        while (c->affine[w])
            sched_core_set_last(s, w * 64 + (size_t)__builtin_ctzll(c->affine[w]), NULL);
    }

    if (c->prev)
        c->prev->next = c->next;
    else
        j->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    j->nclients--;
    free(c->ready.v);
    free(c->dev_ready.v);
    free(c->affine);
    free(c->held);
    free(c->dev_in_flight);
    placement_models_free(&c->models);
    free(c);

    if (j->nclients == 0) {
        if (j->prev)
            j->prev->next = j->next;
        else
            s->jobs = j->next;
        if (j->next) j->next->prev = j->prev;
        free(j);
    }
}

uint32_t sched_client_set_weight(sched_t *s, sched_client_t *c, uint32_t weight, uint64_t now_ns)
{
    if (!s || !c) return 0;
    sched_note_time(s, now_ns);
    job_set_weight(c->job, weight_norm(s, weight), s->now_ns);
    if (weight != 0) c->job->asked = weight;
    return c->job->weight;
}

void sched_set_config(sched_t *s, const sched_config_t *cfg, uint64_t now_ns)
{
    if (!s || !cfg) return;
    sched_note_time(s, now_ns);
    s->cfg = *cfg;
    config_normalise(&s->cfg);
    /* each job's weight again from what it asked for, under the new default and cap */
    for (sched_job_t *j = s->jobs; j; j = j->next)
        job_set_weight(j, weight_norm(s, j->asked), s->now_ns);
}

void sched_get_config(const sched_t *s, sched_config_t *cfg)
{
    *cfg = s->cfg;
}

void *sched_client_owner(const sched_client_t *c)
{
    return c->owner;
}

uint32_t sched_client_weight(const sched_client_t *c)
{
    return c->job->weight;
}

uint64_t sched_client_core_ns(const sched_client_t *c, uint64_t now_ns)
{
    return account_used(&c->acct, now_ns);
}

size_t sched_client_ready(const sched_client_t *c)
{
    return client_nready(c);
}

size_t sched_client_running(const sched_client_t *c)
{
    return c->nrunning;
}

/*
 * ncores is clamped to [1, ncores of the node] so a wide task can always be placed eventually (a
 * reservation for an impossible task would stall the node).
 */
int sched_push_ready(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns)
{
    if (!s || !c || !t || t->state != TASK_READY) return NODUS_EINVAL;
    sched_heap_t *h = client_heap(c, t);
    /* pushing a task already queued here would corrupt the heap, and it is cheap to see */
    if (t->heap_pos < h->n && h->v[t->heap_pos] == t) return NODUS_EINVAL;
    if (heap_reserve(h) < 0) return NODUS_ENOMEM;
    if (t->ncores == 0) t->ncores = 1;
    if (t->ncores > s->ncores) t->ncores = (uint32_t)s->ncores;
    sched_note_time(s, now_ns);

    sched_job_t *j = c->job;
    if (!client_active(c)) client_activate(c, now_ns);
    if (!job_active(j)) job_activate(s, j, now_ns);
    if (client_nready(c) == 0) j->nready_clients++;
    t->seq = ++s->seq;
    t->ready_ns = now_ns;
    h->v[h->n] = t;
    h->n++;
    heap_up(h, h->n - 1);
    return 0;
}

/*
 * Head task t of c does not fit in the free cores: others backfill, but only until it has waited
 * reserve_after_ns; then free cores are held for it.
 */
static void client_wait_for_cores(sched_t *s, sched_client_t *c, task_t *t, uint64_t now)
{
    if (c->wait_task != t) {
        c->wait_task = t;
        c->wait_since = now;
    }
    uint64_t waited = now > c->wait_since ? now - c->wait_since : 0;
    if (waited >= s->cfg.reserve_after_ns) {
        s->reserve_task = t;
        s->reserve_client = c;
    } else {
        client_block(s, c);
    }
}

/* Places ready task t of c: a CPU-only task on free cores, any other through placement. */
static sched_place_result_t task_place(sched_t *s, sched_client_t *c, task_t *t, uint64_t now)
{
    if (!task_cpu_only(t)) return sched_device_place(s, c, t, now);
    if (t->ncores > s->nfree) return SCHED_NO_CORES;
    if (sched_core_place(s, c, t, now) != 0) return SCHED_NO_MEMORY;
    t->grant_kind = SCHED_KIND_CPU;
    return SCHED_PLACED;
}

/*
 * Places the next ready task of c, device-first: the head of its device-capable heap when it
 * goes to a device (or waits for a CPU device's cores), else the first by (priority, seq) of the
 * CPU-only head and a device-capable head that would run on the CPU. *tp: the task the result is
 * about (NULL when there is none to place).
 */
static sched_place_result_t client_place(sched_t *s, sched_client_t *c, uint64_t now, task_t **tp)
{
    task_t *t = c->ready.n ? c->ready.v[0] : NULL;
    if (c->dev_ready.n > 0) {
        task_t *d = c->dev_ready.v[0];
        sched_head_claim_t claim;
        sched_place_result_t r = sched_device_first(s, c, now, &claim);
        if (claim == SCHED_HEAD_FIRST) {
            *tp = d;
            return r;
        }
        if (claim == SCHED_HEAD_IN_ORDER && (!t || task_before(d, t))) t = d;
    }
    *tp = t;
    return t ? task_place(s, c, t, now) : SCHED_NO_CAPACITY;
}

size_t sched_dispatch(sched_t *s, uint64_t now_ns, sched_grant_t *out, size_t max)
{
    if (!s || !out) return 0;
    sched_note_time(s, now_ns);
    s->epoch++;
    size_t n = 0;
    while (n < max && s->nfree > 0) {
        sched_client_t *c;
        task_t *t;
        if (s->reserve_task) {
            /* free cores are held for the reserved task: nobody else may take them */
            c = s->reserve_client;
            t = s->reserve_task;
            sched_place_result_t r = task_place(s, c, t, now_ns);
            if (r == SCHED_NO_CAPACITY) {
                /* a device bound, not cores, stands in its way now: holding cores cannot help */
                s->reserve_task = NULL;
                s->reserve_client = NULL;
                continue;
            }
            if (r != SCHED_PLACED) break;
        } else {
            sched_job_t *j = job_pick(s, now_ns);
            if (!j) break;
            c = client_pick(s, j, now_ns);
            if (!c) break; /* cannot happen: an eligible job has an unblocked ready client */
            sched_place_result_t r = client_place(s, c, now_ns, &t);
            if (r == SCHED_NO_CORES) {
                client_wait_for_cores(s, c, t, now_ns);
                continue;
            }
            if (r != SCHED_PLACED) {
                client_block(s, c); /* device bounds or out of memory: skip it this round */
                continue;
            }
        }
        out[n] = (sched_grant_t){
            .task = t, .client = c, .kind = t->grant_kind, .device = t->device, .slot = t->slot};
        n++;
    }
    return n + sched_core_lookahead(s, now_ns, out + n, max - n);
}
