/*
 * The core scheduler: which ready task of which session runs on which core, node-wide.
 *
 * Invariants: a core is free or granted to exactly one running task; a task with ncores = k
 * holds k cores at once. An idle core goes to any client with ready work. Between clients with
 * ready work, core-time is shared by weighted fair share: each job (uid + job name; several
 * sessions, e.g. MPI ranks, may belong to one job) has a virtual time = core-ns used / weight,
 * and the job with the smallest virtual time goes first; a job that becomes active again starts
 * at the smallest virtual time of the active jobs (no credit hoarded while idle). Within a job,
 * the session with the least core-time goes first; within a session, higher priority first, then
 * submission order. Among free cores, a session gets the one it last used when it can.
 *
 * A task needing more cores than are free is passed over (others backfill) until it has waited
 * `reserve_after_ns`; from then on free cores are held for it so it cannot starve.
 *
 * Pure logic with injected time: no I/O, no libuv. Loop thread only.
 */
#ifndef NODUS_SCHED_H
#define NODUS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

typedef struct sched sched_t;
typedef struct sched_client sched_client_t;

typedef struct sched_config {
    uint32_t default_weight;   /* weight for a client that asks for 0 */
    uint32_t max_weight;       /* cap on requested weights */
    uint64_t reserve_after_ns; /* see above; 0 = reserve at once */
} sched_config_t;

/* One placement decided by sched_dispatch(). */
typedef struct sched_grant {
    task_t *task;           /* now RUNNING; task->cores[0..ncores) hold its core indices */
    sched_client_t *client;
} sched_grant_t;

/* Creates a scheduler over `ncores` cores with OS CPU ids `cpus` (copied). NULL on bad input. */
sched_t *sched_create(const uint32_t *cpus, size_t ncores, const sched_config_t *cfg);
/* Frees the scheduler; every client must have been removed. */
void sched_destroy(sched_t *s);

/* Number of cores, and the OS CPU id of core index i. */
size_t sched_ncores(const sched_t *s);
uint32_t sched_core_cpu(const sched_t *s, size_t i);
/* The running task on core index i, or NULL if free. */
task_t *sched_core_task(const sched_t *s, size_t i);
/* The client that last ran a task on core i (NULL if none or removed). */
sched_client_t *sched_core_last_client(const sched_t *s, size_t i);
/* Free cores right now. */
size_t sched_free_cores(const sched_t *s);

/*
 * Adds a client (a session's scheduling state) to the job (uid, job). `weight` 0 means the
 * default; larger weights are capped at max_weight. A job's weight is the last one set by any
 * of its sessions. `owner` is returned by sched_client_owner(). NULL on OOM.
 */
sched_client_t *sched_client_add(sched_t *s, uint32_t uid, const char *job, uint32_t weight,
                                 void *owner);
/*
 * Removes a client: its running tasks' cores are freed at once (charged up to now_ns) and its
 * ready tasks leave the queue. The tasks are not freed (they belong to the session).
 */
void sched_client_remove(sched_t *s, sched_client_t *c, uint64_t now_ns);
/* Sets the client's job weight (0 = default, capped); returns the weight in force. */
uint32_t sched_client_set_weight(sched_t *s, sched_client_t *c, uint32_t weight);
void *sched_client_owner(const sched_client_t *c);
uint32_t sched_client_weight(const sched_client_t *c);
/* Core-ns used by this client: finished tasks plus running ones up to now_ns. */
uint64_t sched_client_core_ns(const sched_client_t *c, uint64_t now_ns);
/* Tasks in this client's ready queue, and running. */
size_t sched_client_ready(const sched_client_t *c);
size_t sched_client_running(const sched_client_t *c);

/* Queues a READY task of client c. */
void sched_push_ready(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns);

/*
 * Places ready tasks on free cores until either runs out or `max` grants are written to `out`;
 * each placed task becomes RUNNING. Returns the number of grants.
 */
size_t sched_dispatch(sched_t *s, uint64_t now_ns, sched_grant_t *out, size_t max);

/*
 * The body of running task t of client c returned: its cores become free and its core-time is
 * charged. Returns 0, or NODUS_EINVAL if t is not running for c (the caller drops the peer).
 */
int sched_task_finished(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns);

#endif
