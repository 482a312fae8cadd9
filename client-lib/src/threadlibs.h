/*
 * threadlibs.h: holding the thread pools of libraries that task bodies call (OpenBLAS, OpenMP)
 * to the cores the daemon grants. PoCL's pool is held by ocl.c.
 */
#ifndef NODUS_THREADLIBS_H
#define NODUS_THREADLIBS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * What one worker thread's OpenMP thread pool was made under: the granted CPU set of the last
 * body that ran on it (pool threads keep the affinity they were created with). One per worker
 * thread, used only by that thread.
 */
typedef struct threadlibs_omp_pool {
    cpu_set_t *made_under; /* owned; NULL: allocation failed, the pool is then never freed */
    size_t size;           /* bytes of made_under (CPU_ALLOC_SIZE) */
    bool known;            /* made_under holds a set: a body ran since the pool was last freed */
} threadlibs_omp_pool_t;

/*
 * At nodus_open, before the session's threads start: one BLAS thread per task unless
 * $NODUS_HOLD_BLAS is "0", and (once per process) finds the OpenMP runtime that bodies are
 * held to unless $NODUS_HOLD_OMP is "0". Thread-safe; never fails (a library not loaded is
 * left alone).
 */
void threadlibs_hold(void);

/* Prepares `pool` for a worker whose CPU sets are `size` bytes for `ncpus` CPU ids; on failure
 * to allocate the pool is still usable (team sizes are held, the pool is never freed). */
void threadlibs_omp_pool_init(threadlibs_omp_pool_t *pool, size_t size, size_t ncpus);
/* Frees what threadlibs_omp_pool_init allocated (not libgomp's pool: its thread does that). */
void threadlibs_omp_pool_free(threadlibs_omp_pool_t *pool);

/*
 * On a worker thread, just before a body of `ncores` cores runs with the thread's affinity set
 * to `granted` (NULL: the worker is not pinned): sets this thread's OpenMP team size to ncores
 * and, when `granted` differs from what this thread's OpenMP pool was made under, frees the
 * pool so that its next parallel region creates threads under `granted`. A no-op when no
 * OpenMP runtime was found or $NODUS_HOLD_OMP is "0".
 */
void threadlibs_omp_enter(threadlibs_omp_pool_t *pool, const cpu_set_t *granted, unsigned ncores);

#endif
