/*
 * The core scheduler: placement of ready tasks on cores, weighted fair share between jobs,
 * least core-time between the sessions of a job, priorities within a session. Policy and
 * invariants are described in sched.h; this file explains how they are kept cheap.
 *
 * Data structures:
 *   - cores: an array of {running task, its client, last client, OS cpu}, plus three bitmaps
 *     (free cores, cores whose last client is NULL, and per client the cores it ran on last),
 *     so choosing a core costs a few scans of n/64 words instead of a walk over the cores.
 *   - jobs: a list; each job has a weight, a core-time account and a virtual-time offset, and
 *     a list of its clients. Picking the next job is one pass over the jobs.
 *   - clients: a binary max-heap of ready tasks ordered by (priority desc, seq asc), with each
 *     task's slot in task->heap_pos so a task can also leave from the middle (reservations).
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
 * nothing else until enough cores are free for it. Only the head of a client is a candidate:
 * a client's own later tasks never overtake it, whatever their width.
 *
 * Loop thread only; pure logic with injected time.
 */
#include "sched.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"

typedef struct sched_account {
    uint64_t used_ns;   /* core-ns charged up to since_ns */
    uint64_t since_ns;  /* time of the last charge */
    uint32_t run_cores; /* cores held by running tasks, charged as time passes */
} sched_account_t;

typedef struct sched_core {
    task_t *task;                /* running task, or NULL when free */
    sched_client_t *client;      /* the running task's client */
    sched_client_t *last_client; /* last client that finished a task here; NULL if none/removed */
    uint32_t cpu;                /* OS cpu id */
} sched_core_t;

typedef struct sched_job {
    struct sched_job *prev, *next;
    sched_client_t *clients; /* list through sched_client.prev/next */
    uint32_t uid;
    uint32_t weight; /* >= 1 */
    uint32_t nclients;
    uint32_t nready_clients;  /* clients with a non-empty ready heap */
    uint32_t nactive_clients; /* clients with ready or running work */
    uint32_t nrunning;        /* running tasks of all its clients */
    int64_t vbase;            /* vtime offset: raised on activation, moved on weight change */
    uint64_t client_floor;    /* client vtime of the last of its clients to go idle */
    sched_account_t acct;
    uint64_t blocked_epoch; /* dispatch call in which nblocked is valid */
    uint32_t nblocked;      /* clients passed over in that call */
    char name[NODUS_MAX_NAME + 1];
} sched_job_t;

struct sched_client {
    sched_client_t *prev, *next; /* siblings in the job */
    sched_job_t *job;
    void *owner;
    task_t **heap; /* ready tasks, max-heap by (priority desc, seq asc) */
    uint32_t nready, heap_cap;
    uint32_t nrunning;
    uint64_t vbase; /* client vtime offset within the job (raised on activation) */
    sched_account_t acct;
    uint64_t *affine;       /* bitmap of cores whose last client is this one */
    uint64_t blocked_epoch; /* dispatch call in which its head did not fit */
    task_t *wait_task;      /* head task passed over for lack of cores, and since when */
    uint64_t wait_since;
};

struct sched {
    sched_config_t cfg;
    size_t ncores, nwords;
    sched_core_t *cores;
    uint64_t *free_map;   /* free cores */
    uint64_t *orphan_map; /* cores with no (live) last client */
    size_t nfree;
    sched_job_t *jobs;
    uint32_t nactive_jobs;
    int64_t vfloor;  /* vtime of the last job to go idle; the lift target when none is active */
    uint64_t seq;    /* FIFO order of pushes */
    uint64_t epoch;  /* dispatch calls, to mark clients passed over in the current one */
    uint64_t now_ns; /* latest time seen; for calls that are not given one (set_weight) */
    task_t *reserve_task; /* wide task that free cores are held for, and its client */
    sched_client_t *reserve_client;
};

/* ---- bitmaps ---- */

static void bit_set(uint64_t *map, size_t i)
{
    map[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bit_clear(uint64_t *map, size_t i)
{
    map[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* First index set in a & b (b may be NULL: a alone), or -1. */
static long bits_first(const uint64_t *a, const uint64_t *b, size_t nwords)
{
    for (size_t w = 0; w < nwords; w++) {
        uint64_t x = a[w] & (b ? b[w] : ~UINT64_C(0));
        if (x) return (long)(w * 64 + (size_t)__builtin_ctzll(x));
    }
    return -1;
}

/* ---- accounting and virtual time ---- */

static void account_advance(sched_account_t *a, uint64_t now)
{
    /* time that goes backwards charges nothing rather than wrapping */
    if (now > a->since_ns) {
        a->used_ns += (uint64_t)a->run_cores * (now - a->since_ns);
        a->since_ns = now;
    }
}

static uint64_t account_used(const sched_account_t *a, uint64_t now)
{
    if (now <= a->since_ns) return a->used_ns;
    return a->used_ns + (uint64_t)a->run_cores * (now - a->since_ns);
}

static int64_t job_vtime(const sched_job_t *j, uint64_t now)
{
    return j->vbase + (int64_t)(account_used(&j->acct, now) / j->weight);
}

static uint64_t client_vtime(const sched_client_t *c, uint64_t now)
{
    return c->vbase + account_used(&c->acct, now);
}

static bool job_active(const sched_job_t *j)
{
    return j->nready_clients > 0 || j->nrunning > 0;
}

static bool client_active(const sched_client_t *c)
{
    return c->nready > 0 || c->nrunning > 0;
}

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

/* After c lost running or ready work: update activity of c and its job. */
static void client_maybe_idle(sched_t *s, sched_client_t *c, bool job_was_active,
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
static void job_set_weight(sched_t *s, sched_job_t *j, uint32_t w)
{
    if (w == j->weight) return;
    uint64_t used = account_used(&j->acct, s->now_ns);
    j->vbase += (int64_t)(used / j->weight) - (int64_t)(used / w);
    j->weight = w;
}

/* ---- ready heap ---- */

static bool task_before(const task_t *a, const task_t *b)
{
    if (a->priority != b->priority) return a->priority > b->priority;
    return a->seq < b->seq;
}

static void heap_put(sched_client_t *c, uint32_t i, task_t *t)
{
    c->heap[i] = t;
    t->heap_pos = i;
}

static void heap_up(sched_client_t *c, uint32_t i)
{
    task_t *t = c->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!task_before(t, c->heap[parent])) break;
        heap_put(c, i, c->heap[parent]);
        i = parent;
    }
    heap_put(c, i, t);
}

static void heap_down(sched_client_t *c, uint32_t i)
{
    task_t *t = c->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= c->nready) break;
        if (child + 1 < c->nready && task_before(c->heap[child + 1], c->heap[child])) child++;
        if (!task_before(c->heap[child], t)) break;
        heap_put(c, i, c->heap[child]);
        i = child;
    }
    heap_put(c, i, t);
}

static void heap_remove(sched_client_t *c, uint32_t i)
{
    task_t *last = c->heap[--c->nready];
    if (i == c->nready) return;
    heap_put(c, i, last);
    heap_up(c, i);
    heap_down(c, last->heap_pos);
}

/* ---- cores ---- */

/* Records c (may be NULL) as the last client of core i, keeping the bitmaps in step. */
static void core_set_last(sched_t *s, size_t i, sched_client_t *c)
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

/* A free core for c: one it ran on last, else one nobody (alive) ran on, else the lowest. */
static size_t core_choose(const sched_t *s, const sched_client_t *c)
{
    long i = bits_first(s->free_map, c->affine, s->nwords);
    if (i < 0) i = bits_first(s->free_map, s->orphan_map, s->nwords);
    if (i < 0) i = bits_first(s->free_map, NULL, s->nwords);
    return (size_t)i; /* callers check nfree first, so one exists */
}

static void core_release(sched_t *s, size_t i)
{
    s->cores[i].task = NULL;
    s->cores[i].client = NULL;
    bit_set(s->free_map, i);
    s->nfree++;
}

/*
 * Places ready task t of c (t->ncores <= nfree) on cores and takes it out of the heap. Returns
 * NODUS_ENOMEM, with nothing changed, if a multi-core task's core array cannot be allocated.
 */
static int task_place(sched_t *s, sched_client_t *c, task_t *t, uint64_t now)
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
        s->cores[i].task = t;
        s->cores[i].client = c;
        cores[n] = (uint32_t)i;
    }
    s->nfree -= k;

    account_advance(&c->acct, now);
    account_advance(&j->acct, now);
    c->acct.run_cores += k;
    j->acct.run_cores += k;
    c->nrunning++;
    j->nrunning++;

    heap_remove(c, t->heap_pos);
    if (c->nready == 0) j->nready_clients--;
    if (c->wait_task == t) c->wait_task = NULL;
    if (s->reserve_task == t) {
        s->reserve_task = NULL;
        s->reserve_client = NULL;
    }
    t->state = TASK_RUNNING;
    t->start_ns = now;
    return 0;
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
        if (c->nready == 0 || c->blocked_epoch == s->epoch) continue;
        uint64_t v = client_vtime(c, now);
        if (!best || v < best_v) {
            best = c;
            best_v = v;
        }
    }
    return best;
}

static void note_time(sched_t *s, uint64_t now)
{
    if (now > s->now_ns) s->now_ns = now;
}

/* ---- public ---- */

sched_t *sched_create(const uint32_t *cpus, size_t ncores, const sched_config_t *cfg)
{
    if (!cpus || !cfg || ncores == 0 || ncores > NODUS_MAX_CORES) return NULL;
    sched_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cfg = *cfg;
    /* keep weights usable whatever the config holds: 1 <= default <= max <= absolute cap */
    if (s->cfg.max_weight == 0 || s->cfg.max_weight > NODUS_MAX_WEIGHT)
        s->cfg.max_weight = NODUS_MAX_WEIGHT;
    if (s->cfg.default_weight == 0) s->cfg.default_weight = 1;
    if (s->cfg.default_weight > s->cfg.max_weight) s->cfg.default_weight = s->cfg.max_weight;
    s->ncores = ncores;
    s->nwords = (ncores + 63) / 64;
    s->cores = calloc(ncores, sizeof *s->cores);
    s->free_map = calloc(s->nwords, sizeof *s->free_map);
    s->orphan_map = calloc(s->nwords, sizeof *s->orphan_map);
    if (!s->cores || !s->free_map || !s->orphan_map) {
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
    return s;
}

void sched_destroy(sched_t *s)
{
    if (!s) return;
    /* the contract says every client is gone; free any leftovers rather than leak them */
    while (s->jobs)
        sched_client_remove(s, s->jobs->clients, s->now_ns);
    free(s->cores);
    free(s->free_map);
    free(s->orphan_map);
    free(s);
}

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

sched_client_t *sched_core_last_client(const sched_t *s, size_t i)
{
    return i < s->ncores ? s->cores[i].last_client : NULL;
}

size_t sched_free_cores(const sched_t *s)
{
    return s->nfree;
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
    sched_job_t *new_job = j ? NULL : calloc(1, sizeof *new_job);
    if (!c || !affine || (!j && !new_job)) {
        free(c);
        free(affine);
        free(new_job);
        return NULL;
    }
    if (new_job) {
        j = new_job;
        j->uid = uid;
        /* names longer than the protocol allows were rejected upstream; truncate defensively */
        strncpy(j->name, job, NODUS_MAX_NAME);
        j->weight = weight_norm(s, weight);
        j->next = s->jobs;
        if (s->jobs) s->jobs->prev = j;
        s->jobs = j;
    } else {
        job_set_weight(s, j, weight_norm(s, weight));
    }
    c->affine = affine;
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
    note_time(s, now_ns);
    bool job_was_active = job_active(j), client_was_active = client_active(c);

    if (s->reserve_client == c) {
        s->reserve_task = NULL;
        s->reserve_client = NULL;
    }

    /* running tasks: a scan of the cores, as removal is rare and tasks carry no sched link */
    account_advance(&c->acct, now_ns);
    account_advance(&j->acct, now_ns);
    for (size_t i = 0; i < s->ncores && c->acct.run_cores > 0; i++) {
        if (s->cores[i].client != c) continue;
        core_release(s, i);
        c->acct.run_cores--;
        j->acct.run_cores--;
    }
    j->nrunning -= c->nrunning;
    c->nrunning = 0;

    /* ready tasks just leave; they belong to the session */
    if (c->nready > 0) j->nready_clients--;
    c->nready = 0;
    client_maybe_idle(s, c, job_was_active, client_was_active, now_ns);

    for (size_t w = 0; w < s->nwords; w++) {
        while (c->affine[w])
            core_set_last(s, w * 64 + (size_t)__builtin_ctzll(c->affine[w]), NULL);
    }

    if (c->prev)
        c->prev->next = c->next;
    else
        j->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    j->nclients--;
    free(c->heap);
    free(c->affine);
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

uint32_t sched_client_set_weight(sched_t *s, sched_client_t *c, uint32_t weight)
{
    if (!s || !c) return 0;
    job_set_weight(s, c->job, weight_norm(s, weight));
    return c->job->weight;
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
    return c->nready;
}

size_t sched_client_running(const sched_client_t *c)
{
    return c->nrunning;
}

/*
 * A task that is not READY is ignored. ncores is clamped to [1, ncores of the node] so a wide
 * task can always be placed eventually (a reservation for an impossible task would stall the
 * node). If the heap cannot grow, the task is not queued: this function has no way to say so
 * (it returns void), and the session's cap on outstanding tasks keeps heaps small.
 */
void sched_push_ready(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns)
{
    if (!s || !c || !t || t->state != TASK_READY) return;
    /* pushing a task already queued here would corrupt the heap, and it is cheap to see */
    if (t->heap_pos < c->nready && c->heap[t->heap_pos] == t) return;
    if (c->nready == c->heap_cap) {
        uint32_t cap = c->heap_cap ? c->heap_cap * 2 : 16;
        task_t **heap = realloc(c->heap, cap * sizeof *heap);
        if (!heap) return;
        c->heap = heap;
        c->heap_cap = cap;
    }
    if (t->ncores == 0) t->ncores = 1;
    if (t->ncores > s->ncores) t->ncores = (uint32_t)s->ncores;
    note_time(s, now_ns);

    sched_job_t *j = c->job;
    if (!client_active(c)) client_activate(c, now_ns);
    if (!job_active(j)) job_activate(s, j, now_ns);
    t->seq = ++s->seq;
    t->ready_ns = now_ns;
    c->heap[c->nready] = t;
    c->nready++;
    heap_up(c, c->nready - 1);
    if (c->nready == 1) j->nready_clients++;
}

size_t sched_dispatch(sched_t *s, uint64_t now_ns, sched_grant_t *out, size_t max)
{
    if (!s || !out) return 0;
    note_time(s, now_ns);
    s->epoch++;
    size_t n = 0;
    while (n < max && s->nfree > 0) {
        sched_client_t *c;
        task_t *t;
        if (s->reserve_task) {
            /* free cores are held for the reserved task: nobody else may take them */
            c = s->reserve_client;
            t = s->reserve_task;
            if (t->ncores > s->nfree || task_place(s, c, t, now_ns) != 0) break;
        } else {
            sched_job_t *j = job_pick(s, now_ns);
            if (!j) break;
            c = client_pick(s, j, now_ns);
            if (!c) break; /* cannot happen: an eligible job has an unblocked ready client */
            t = c->heap[0];
            if (t->ncores > s->nfree) {
                /* too wide for now: let others backfill, but only for reserve_after_ns */
                if (c->wait_task != t) {
                    c->wait_task = t;
                    c->wait_since = now_ns;
                }
                uint64_t waited = now_ns > c->wait_since ? now_ns - c->wait_since : 0;
                if (waited >= s->cfg.reserve_after_ns) {
                    s->reserve_task = t;
                    s->reserve_client = c;
                } else {
                    client_block(s, c);
                }
                continue;
            }
            if (task_place(s, c, t, now_ns) != 0) {
                client_block(s, c); /* out of memory: skip it this round */
                continue;
            }
        }
        out[n].task = t;
        out[n].client = c;
        n++;
    }
    return n;
}

/*
 * The task stays RUNNING: the session calls deps_complete() next, which marks it DONE and
 * releases its successors. Keeping the state change there means one place owns DONE.
 */
int sched_task_finished(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns)
{
    if (!s || !c || !t || t->state != TASK_RUNNING || !t->cores || t->ncores == 0 ||
        t->ncores > s->ncores)
        return NODUS_EINVAL;
    for (uint32_t n = 0; n < t->ncores; n++) {
        uint32_t i = t->cores[n];
        if (i >= s->ncores || s->cores[i].task != t || s->cores[i].client != c) return NODUS_EINVAL;
    }
    sched_job_t *j = c->job;
    note_time(s, now_ns);
    bool job_was_active = job_active(j), client_was_active = client_active(c);

    account_advance(&c->acct, now_ns);
    account_advance(&j->acct, now_ns);
    for (uint32_t n = 0; n < t->ncores; n++) {
        core_release(s, t->cores[n]);
        core_set_last(s, t->cores[n], c);
    }
    c->acct.run_cores -= t->ncores;
    j->acct.run_cores -= t->ncores;
    c->nrunning--;
    j->nrunning--;
    client_maybe_idle(s, c, job_was_active, client_was_active, now_ns);
    return 0;
}
