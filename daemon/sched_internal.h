/*
 * Private to the scheduler (sched.c: fair share, clients, ready heaps, dispatch; sched_core.c:
 * cores, placement, lookahead queues, finishing; sched_device.c: devices, placement of device
 * and multi-version tasks, device-first dispatch, held cores). The structures and the small
 * helpers these files need; nothing outside the scheduler includes this header. Loop thread only.
 */
#ifndef NODUS_SCHED_INTERNAL_H
#define NODUS_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "nodus_limits.h"
#include "placement.h"
#include "sched.h"

/* Finished 1-core tasks a client needs before its measured task time is trusted. */
#define SCHED_EMA_MIN_SAMPLES 8u
/* Upper bound on sched_config.lookahead; larger values are clamped. */
#define SCHED_LOOKAHEAD_MAX 64u

typedef struct sched_account {
    uint64_t used_ns;   /* core-ns charged up to since_ns */
    uint64_t since_ns;  /* time of the last charge */
    uint32_t run_cores; /* cores held by running tasks, charged as time passes */
} sched_account_t;

typedef struct sched_core {
    task_t *task;                /* head: the running task, or NULL when free */
    sched_client_t *client;      /* the head's client (also owns every queued task) */
    sched_client_t *last_client; /* last client that finished a task here; NULL if none/removed */
    uint32_t cpu;                /* OS cpu id */
    uint32_t qhead, qlen;        /* lookahead FIFO: sched.queue[index * lookahead + ...] */
    uint32_t held_by;            /* 1 + index of the CPU device holding it; 0 = none */
} sched_core_t;

typedef struct sched_device {
    uint32_t kind; /* DeviceKind: CUDA or OPENCL */
    uint32_t slots, max_in_flight, max_per_session;
    uint32_t in_flight;  /* granted tasks not yet device-complete */
    uint32_t *slot_load; /* in flight per slot (owned) */
    uint32_t *cores;     /* CPU device: the core indices it holds while busy (owned); else NULL */
    uint32_t ncores;
    bool held;             /* those cores are held now */
    uint64_t charge_since; /* held core-time charged up to here */
    uint64_t backlog_ns;   /* sum of est_ns of the tasks in flight */
    uint64_t ema_ns;       /* average grant-to-completion time of its tasks (fallback model) */
    uint32_t samples;
    uint64_t completed;
    task_t *inflight; /* tasks in flight, through task.dev_prev/dev_next */
} sched_device_t;

/* A binary max-heap of ready tasks by (priority desc, seq asc); a task's slot is task->heap_pos. */
typedef struct sched_heap {
    task_t **v; /* owned array of borrowed tasks */
    uint32_t n, cap;
} sched_heap_t;

typedef struct sched_job {
    struct sched_job *prev, *next;
    sched_client_t *clients; /* list through sched_client.prev/next */
    uint32_t uid;
    uint32_t weight; /* >= 1 */
    uint32_t asked;  /* last non-zero weight a session asked for (0: none, the default) */
    uint32_t nclients;
    uint32_t nready_clients;  /* clients with ready tasks (in either heap) */
    uint32_t nactive_clients; /* clients with ready or running work */
    uint32_t nrunning;        /* granted (running or queued) tasks of all its clients */
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
    sched_heap_t ready;     /* ready CPU-only tasks */
    sched_heap_t dev_ready; /* ready tasks that offer a device kind (multi-version ones too) */
    uint32_t nrunning;      /* granted tasks: heads of cores plus lookahead-queued ones */
    uint64_t vbase;         /* client vtime offset within the job (raised on activation) */
    sched_account_t acct;
    uint64_t *affine;       /* bitmap of cores whose last client is this one */
    uint64_t *held;         /* bitmap of cores whose head task is this client's */
    uint64_t blocked_epoch; /* dispatch call in which its head did not fit */
    task_t *wait_task;      /* head task passed over for lack of cores, and since when */
    uint64_t wait_since;
    uint64_t task_ema_ns;      /* moving average of finish - start of its finished 1-core tasks */
    uint32_t task_samples;     /* how many went into it, saturating at SCHED_EMA_MIN_SAMPLES */
    uint32_t *dev_in_flight;   /* per device: its tasks in flight there (owned; NULL if none) */
    uint32_t ndev;             /* length of dev_in_flight: the devices when it was added */
    uint32_t ndevice;          /* its tasks in the device phase (TASK_DEVICE) */
    placement_models_t models; /* performance models of its multi-version and device tasks */
};

struct sched {
    sched_config_t cfg;
    size_t ncores, nwords;
    sched_core_t *cores;
    uint64_t *free_map;   /* free cores */
    uint64_t *orphan_map; /* cores with no (live) last client */
    size_t nfree;
    task_t **queue;       /* lookahead FIFOs, cfg.lookahead slots per core (NULL if 0) */
    uint32_t *candidates; /* scratch for the lookahead pass: cores of one client */
    sched_job_t *jobs;
    uint32_t nactive_jobs;
    int64_t vfloor;  /* vtime of the last job to go idle; the lift target when none is active */
    uint64_t seq;    /* FIFO order of pushes */
    uint64_t epoch;  /* dispatch calls, to mark clients passed over in the current one */
    uint64_t now_ns; /* latest time seen; for calls that are not given one (client_add) */
    task_t *reserve_task; /* wide task that free cores are held for, and its client */
    sched_client_t *reserve_client;
    sched_device_t *devices; /* owned */
    uint32_t ndevices;
    uint32_t kinds;        /* DeviceKind bit mask of the devices present, plus the CPU bit */
    uint64_t *plain_map;   /* cores no CPU device may hold (bodies go there first) */
    bool any_device_cores; /* some CPU device has cores (plain_map differs from all) */
};

/* DeviceKind bits (TaskSpec.impls). */
#define SCHED_KIND_CPU 0u
#define SCHED_IMPL_CPU (1u << SCHED_KIND_CPU)

/* Does t offer nothing but a CPU implementation (the fast path, and lookahead)? */
static inline bool task_cpu_only(const task_t *t)
{
    return (t->impls & ~SCHED_IMPL_CPU) == 0;
}

/* The order within a session: higher priority first, then submission (ready) order. */
static inline bool task_before(const task_t *a, const task_t *b)
{
    if (a->priority != b->priority) return a->priority > b->priority;
    return a->seq < b->seq;
}

/* ---- bitmaps ---- */

static inline void bit_set(uint64_t *map, size_t i)
{
    map[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline void bit_clear(uint64_t *map, size_t i)
{
    map[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* First index set in a & b (b may be NULL: a alone), or -1. */
static inline long bits_first(const uint64_t *a, const uint64_t *b, size_t nwords)
{
    for (size_t w = 0; w < nwords; w++) {
        uint64_t x = a[w] & (b ? b[w] : ~UINT64_C(0));
        if (x) return (long)(w * 64 + (size_t)__builtin_ctzll(x));
    }
    return -1;
}

/* First index set in a & b & c (b may be NULL), or -1. */
static inline long bits_first3(const uint64_t *a, const uint64_t *b, const uint64_t *c,
                               size_t nwords)
{
    for (size_t w = 0; w < nwords; w++) {
        uint64_t x = a[w] & (b ? b[w] : ~UINT64_C(0)) & c[w];
        if (x) return (long)(w * 64 + (size_t)__builtin_ctzll(x));
    }
    return -1;
}

static inline bool bit_test(const uint64_t *map, size_t i)
{
    return (map[i / 64] >> (i % 64)) & 1u;
}

/* ---- accounting and virtual time ---- */

static inline void account_advance(sched_account_t *a, uint64_t now)
{
    /* time that goes backwards charges nothing rather than wrapping */
    if (now > a->since_ns) {
        a->used_ns += (uint64_t)a->run_cores * (now - a->since_ns);
        a->since_ns = now;
    }
}

static inline uint64_t account_used(const sched_account_t *a, uint64_t now)
{
    if (now <= a->since_ns) return a->used_ns;
    return a->used_ns + (uint64_t)a->run_cores * (now - a->since_ns);
}

static inline int64_t job_vtime(const sched_job_t *j, uint64_t now)
{
    return j->vbase + (int64_t)(account_used(&j->acct, now) / j->weight);
}

static inline uint64_t client_vtime(const sched_client_t *c, uint64_t now)
{
    return c->vbase + account_used(&c->acct, now);
}

static inline bool job_active(const sched_job_t *j)
{
    return j->nready_clients > 0 || j->nrunning > 0;
}

/* Ready tasks of c, both heaps. */
static inline uint32_t client_nready(const sched_client_t *c)
{
    return c->ready.n + c->dev_ready.n;
}

static inline bool client_active(const sched_client_t *c)
{
    return client_nready(c) > 0 || c->nrunning > 0;
}

/* Remembers the latest time seen, for calls that are not given one. */
static inline void sched_note_time(sched_t *s, uint64_t now)
{
    if (now > s->now_ns) s->now_ns = now;
}

/* ---- sched.c ---- */

/* Takes ready task t out of its heap in c (job's ready-client count included). */
void sched_ready_remove(sched_client_t *c, task_t *t);
/* After c lost running or ready work: updates the activity of c and its job. */
void sched_client_maybe_idle(sched_t *s, sched_client_t *c, bool job_was_active,
                             bool client_was_active, uint64_t now);

/* ---- sched_core.c ---- */

/* Allocates the lookahead queues and scratch (cfg and ncores set); 0 or NODUS_ENOMEM. */
int sched_cores_init(sched_t *s);
/* Frees what sched_cores_init allocated. */
void sched_cores_free(sched_t *s);
/* Frees core i, dropping its queued tasks (they are not freed: they belong to the session). */
void sched_core_release(sched_t *s, size_t i);
/* Records c (may be NULL) as the last client of core i, keeping the bitmaps in step. */
void sched_core_set_last(sched_t *s, size_t i, sched_client_t *c);
/*
 * Places ready task t of c (t->ncores <= nfree) on free cores and takes it out of the heap.
 * Returns NODUS_ENOMEM, with nothing changed, if a multi-core task's core array cannot be
 * allocated.
 */
int sched_core_place(sched_t *s, sched_client_t *c, task_t *t, uint64_t now);
/* The lookahead pass of sched_dispatch (see sched.h); returns the grants written to out. */
size_t sched_core_lookahead(sched_t *s, uint64_t now, sched_grant_t *out, size_t max);

/* ---- sched_device.c ---- */

/* Outcomes of sched_device_place. */
typedef enum sched_place_result {
    SCHED_PLACED = 0,
    SCHED_NO_CORES,    /* something offered would fit if busy cores were free: wait, reserve */
    SCHED_NO_CAPACITY, /* every offered resource is at its in-flight bounds: skip this round */
    SCHED_NO_MEMORY,
} sched_place_result_t;

/*
 * Places ready task t of c, which offers a device kind (not task_cpu_only), on the resource
 * placement chooses; on SCHED_PLACED t is RUNNING with grant_kind/device/slot set.
 */
sched_place_result_t sched_device_place(sched_t *s, sched_client_t *c, task_t *t, uint64_t now);

/* How the head of a client's device-capable heap stands against its CPU-only head. */
typedef enum sched_head_claim {
    SCHED_HEAD_NONE,     /* nothing it offers has room: the CPU-only tasks go on without it */
    SCHED_HEAD_IN_ORDER, /* it would run on the CPU: in (priority, seq) order with CPU-only tasks */
    SCHED_HEAD_FIRST,    /* it would go to a device: before any CPU-only task (device-first) */
} sched_head_claim_t;

/*
 * Device-first dispatch for c, whose device-capable heap is not empty. When placement puts its
 * head on a device now, places it there (SCHED_PLACED, claim FIRST). When a device has room and
 * only the cores a CPU device holds are busy, the head waits for cores ahead of c's CPU-only tasks
 * (SCHED_NO_CORES, claim FIRST). Otherwise nothing is placed and *claim says how it competes
 * (IN_ORDER: placed by sched_device_place when it comes first; NONE); the result is then
 * SCHED_NO_CAPACITY. SCHED_NO_MEMORY as sched_device_place.
 */
sched_place_result_t sched_device_first(sched_t *s, sched_client_t *c, uint64_t now,
                                        sched_head_claim_t *claim);
/*
 * The same question for lookahead, which runs when cores are busy: the claim c's device-capable
 * head would make on c's next free core (NONE if that heap is empty). Changes nothing.
 */
sched_head_claim_t sched_device_claim(const sched_t *s, const sched_client_t *c);
/* Grant bookkeeping of a CPU-granted multi-version task finishing (model sample). */
void sched_device_cpu_finished(sched_client_t *c, task_t *t, uint64_t now);
/* Body of device-granted t returned (its core already handled): t becomes TASK_DEVICE. */
void sched_device_body_finished(sched_client_t *c, task_t *t);
/* Takes every task of c off the devices (client removal). */
void sched_device_client_remove(sched_t *s, sched_client_t *c, uint64_t now);
/* Frees the devices (scheduler destruction). */
void sched_devices_free(sched_t *s);

#endif
