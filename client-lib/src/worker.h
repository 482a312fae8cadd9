/*
 * Worker threads: one per daemon core, started on that core's first grant and pinned to it. A
 * worker takes grants from its mailbox (filled by the comm thread), runs the task body with the
 * task context set (nodus_task_core() and friends), and reports the task done to the comm thread.
 */
#ifndef NODUS_CLIENT_WORKER_H
#define NODUS_CLIENT_WORKER_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nodus.h"

/* One granted task, as the comm thread hands it to the worker of its first core. */
typedef struct grant_item {
    uint64_t id;
    nodus_task_fn fn;
    void *arg;
    uint32_t ncores;
    uint32_t cpu0;  /* where the body runs */
    uint32_t *cpus; /* ncores > 1: every granted CPU, cpus[0] == cpu0 (owned); else NULL */
    nodus_device_kind_t kind; /* the implementation to run; fn is that kind's body */
    uint32_t device;          /* kind != CPU: daemon device index */
    uint32_t slot;            /* kind != CPU: stream / queue slot on that device */
    unsigned epoch;           /* n->epoch when granted: a later epoch means the daemon is gone */
    uint8_t run;              /* the task entry's run count for this grant (stale completions) */
} grant_item_t;

typedef struct worker {
    nodus_t *n;   /* borrowed */
    uint32_t cpu; /* OS CPU id this worker is pinned to */
    pthread_t thread;
    bool started; /* comm thread writes; nodus_close reads after joining the comm thread */

    pthread_mutex_t lock; /* guards the mailbox and the flags below */
    pthread_cond_t cv;
    grant_item_t *ring; /* mailbox: a ring of cap items, count from head; owned */
    size_t head, count, cap;
    bool sleeping; /* waiting on cv: a push must signal */
    bool stop;
    atomic_size_t queued; /* == count; read without the lock while spinning */
} worker_t;

/* Prepares worker state for `cpu` (no thread yet). Returns 0 or NODUS_ENOMEM. */
int worker_init(worker_t *w, nodus_t *n, uint32_t cpu);
/*
 * Hands a grant to the worker, starting its thread on first use. The item's cpus array passes
 * to the worker. Comm thread only. Returns 0 or NODUS_ENOMEM (the item is then not taken).
 */
int worker_push(worker_t *w, grant_item_t *item);
/* Stops and joins the thread (after the running body returns) and frees the worker's state. */
void worker_destroy(worker_t *w);

/* True when the calling thread is running a task body of session `n`. */
bool worker_in_task_of(const nodus_t *n);

#endif
