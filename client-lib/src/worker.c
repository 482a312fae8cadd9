/*
 * Worker threads (see worker.h).
 *
 * Hand-off latency matters for dependency chains: a worker that just finished spins for up to
 * n->spin_ns on its mailbox counter before it sleeps on its condition variable, so the next
 * grant for this core (usually one daemon round trip later) skips a futex wake-up. The spin
 * yields the CPU on every turn: the threads that produce that grant (the comm thread, the
 * daemon) often share this CPU, and on an oversubscribed node a pure busy-wait would delay
 * exactly them (measured: 2-3x slower chains on a 2-CPU machine). The spin is short because an
 * idle core may be granted to another process's worker at any time.
 *
 * A device task (CUDA, OpenCL) runs its body the same way, through device_run(), which sets the
 * device context around it and reports the task itself (its Done carries or precedes the
 * device-completion report).
 *
 * A grant from before the daemon was lost (an older n->epoch) is not started; see reconnect.c.
 *
 * A parallel task (ncores > 1) runs on the worker of its first core, with that thread's affinity
 * widened to every granted CPU while the body runs, so thread pools the body starts (OpenMP,
 * BLAS) inherit exactly the granted cores. The other granted cores' workers stay idle. Before
 * every body the worker holds its thread's OpenMP team to the granted core count and, when the
 * granted set changed, frees its OpenMP thread pool (threadlibs.c says why).
 */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm.h"
#include "device.h"
#include "done.h"
#include "internal.h"
#include "threadlibs.h"

/* The task this thread is running, for nodus_task_*(); all zero outside a body. */
typedef struct task_context {
    const nodus_t *n;
    uint64_t id;
    uint32_t cpu0;
    uint32_t ncores;
    const uint32_t *cpus; /* ncores entries; &cpu0 for a one-core task */
} task_context_t;

static _Thread_local task_context_t current;

/* Affinity this worker thread had at start (the process's), to restore if pinning failed. */
typedef struct worker_affinity {
    cpu_set_t *pin;  /* just this worker's CPU */
    cpu_set_t *wide; /* scratch for parallel tasks */
    size_t size;
    bool pinned;
    threadlibs_omp_pool_t omp; /* what this thread's OpenMP pool was made under */
} worker_affinity_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int worker_init(worker_t *w, nodus_t *n, uint32_t cpu)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->cpu = cpu;
    atomic_init(&w->queued, 0);
    if (pthread_mutex_init(&w->lock, NULL) != 0) return NODUS_ENOMEM;
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->lock);
        return NODUS_ENOMEM;
    }
    return 0;
}

/* Takes the next grant; false once the worker is told to stop and the mailbox is empty. */
static bool mailbox_take(worker_t *w, grant_item_t *item)
{
    uint64_t spin_ns = w->n->spin_ns;
    if (spin_ns && atomic_load_explicit(&w->queued, memory_order_relaxed) == 0) {
        uint64_t deadline = now_ns() + spin_ns;
        for (;;) {
            if (atomic_load_explicit(&w->queued, memory_order_relaxed) != 0) break;
            sched_yield();
            if (now_ns() >= deadline) break;
        }
    }
    pthread_mutex_lock(&w->lock);
    while (w->count == 0 && !w->stop) {
        w->sleeping = true;
        pthread_cond_wait(&w->cv, &w->lock);
        w->sleeping = false;
    }
    bool got = w->count > 0;
    if (got) {
        *item = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        atomic_store_explicit(&w->queued, w->count, memory_order_relaxed);
    }
    pthread_mutex_unlock(&w->lock);
    return got;
}

static int mailbox_push(worker_t *w, const grant_item_t *item)
{
    pthread_mutex_lock(&w->lock);
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4;
        grant_item_t *ring = malloc(cap * sizeof *ring);
        if (!ring) {
            pthread_mutex_unlock(&w->lock);
            return NODUS_ENOMEM;
        }
        for (size_t i = 0; i < w->count; i++)
            ring[i] = w->ring[(w->head + i) % w->cap];
        free(w->ring);
        w->ring = ring;
        w->head = 0;
        w->cap = cap;
    }
    w->ring[(w->head + w->count) % w->cap] = *item;
    w->count++;
    atomic_store_explicit(&w->queued, w->count, memory_order_relaxed);
    bool wake = w->sleeping;
    pthread_mutex_unlock(&w->lock);
    if (wake) pthread_cond_signal(&w->cv);
    return 0;
}

static void affinity_init(worker_t *w, worker_affinity_t *a)
{
    nodus_t *n = w->n;
    memset(a, 0, sizeof *a);
    a->size = n->cpuset_size;
    a->pin = CPU_ALLOC(n->cpu_worker_len);
    a->wide = CPU_ALLOC(n->cpu_worker_len);
    threadlibs_omp_pool_init(&a->omp, a->size, n->cpu_worker_len);
    if (!a->pin || !a->wide) return; /* run unpinned */
    CPU_ZERO_S(a->size, a->pin);
    CPU_SET_S(w->cpu, a->size, a->pin);
    /* fails e.g. when the process's own affinity excludes the CPU: run unpinned then */
    a->pinned = pthread_setaffinity_np(pthread_self(), a->size, a->pin) == 0;
}

static void affinity_free(worker_affinity_t *a)
{
    if (a->pin) CPU_FREE(a->pin);
    if (a->wide) CPU_FREE(a->wide);
    threadlibs_omp_pool_free(&a->omp);
}

/* A grant of a daemon that has since been lost: the body does not start (the next daemon may
 * give this core to someone else), and the task goes back to be resubmitted (reconnect.c). */
static void return_unstarted(nodus_t *n, grant_item_t *item)
{
    pthread_mutex_lock(&n->lock);
    task_entry_t *e = table_lookup(&n->table, item->id);
    if (e && e->state == TASK_ENTRY_GRANTED && e->run == item->run)
        session_task_state(n, e, TASK_ENTRY_SUBMITTED);
    pthread_mutex_unlock(&n->lock);
    if (n->debug)
        fprintf(stderr, "libnodus: task %llu: granted by a lost nodusd, not started\n",
                (unsigned long long)item->id);
    free(item->cpus);
    comm_wake(n);
}

static void run_item(worker_t *w, worker_affinity_t *a, grant_item_t *item)
{
    nodus_t *n = w->n;
    if (atomic_load(&n->epoch) != item->epoch) {
        return_unstarted(n, item);
        return;
    }
    bool widened = false;
    if (item->ncores > 1 && a->pinned) {
        CPU_ZERO_S(a->size, a->wide);
        for (uint32_t i = 0; i < item->ncores; i++)
            CPU_SET_S(item->cpus[i], a->size, a->wide);
        widened = pthread_setaffinity_np(pthread_self(), a->size, a->wide) == 0;
    }
    current.n = n;
    current.id = item->id;
    current.cpu0 = item->cpu0;
    current.ncores = item->ncores;
    current.cpus = item->ncores > 1 ? item->cpus : &current.cpu0;
    /* this thread's affinity now: what OpenMP threads started by the body inherit */
    threadlibs_omp_enter(&a->omp, a->pinned ? (widened ? a->wide : a->pin) : NULL, item->ncores);

    if (item->kind == NODUS_DEV_CPU) {
        /* a broken session runs no more bodies: the daemon no longer holds these cores for us */
        if (session_error(n) == 0) item->fn(item->arg);
    } else {
        device_run(n, item); /* the body, its completion marker or event, and the reports */
    }

    memset(&current, 0, sizeof current);
    if (widened) pthread_setaffinity_np(pthread_self(), a->size, a->pin);
    free(item->cpus);
    if (item->kind == NODUS_DEV_CPU) done_push(n, item->id);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    /* the comm thread that started us blocks every signal; bodies get the host's mask */
    pthread_sigmask(SIG_SETMASK, &w->n->host_sigmask, NULL);
    char name[16];
    snprintf(name, sizeof name, "nodus-cpu%u", w->cpu);
    pthread_setname_np(pthread_self(), name);

    worker_affinity_t a;
    affinity_init(w, &a);
    grant_item_t item;
    while (mailbox_take(w, &item))
        run_item(w, &a, &item);
    affinity_free(&a);
    return NULL;
}

int worker_push(worker_t *w, grant_item_t *item)
{
    if (!w->started) {
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) return NODUS_ENOMEM;
        w->started = true;
    }
    return mailbox_push(w, item);
}

void worker_destroy(worker_t *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    bool wake = w->sleeping;
    pthread_mutex_unlock(&w->lock);
    if (wake) pthread_cond_signal(&w->cv);
    if (w->started) pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->count; i++)
        free(w->ring[(w->head + i) % w->cap].cpus);
    free(w->ring);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->lock);
    memset(w, 0, sizeof *w);
}

bool worker_in_task_of(const nodus_t *n)
{
    return n && current.n == n;
}

NODUS_EXPORT int nodus_task_core(void)
{
    return current.n ? (int)current.cpu0 : -1;
}

NODUS_EXPORT int nodus_task_ncores(void)
{
    return current.n ? (int)current.ncores : 0;
}

NODUS_EXPORT int nodus_task_cores(int *cores, int max)
{
    if (!current.n) return 0;
    for (int i = 0; cores && i < max && (uint32_t)i < current.ncores; i++)
        cores[i] = (int)current.cpus[i];
    return (int)current.ncores;
}

NODUS_EXPORT uint64_t nodus_task_id(void)
{
    return current.n ? current.id : 0;
}
