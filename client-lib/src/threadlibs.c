/*
 * threadlibs.c: holds the thread pools of libraries that task bodies call.
 *
 * A task body runs on the cores the daemon granted, and the daemon runs other tasks on every
 * other core. A library that spawns a thread per CPU inside each call therefore puts
 * cores x cores threads on the node (oversubscription: the source paper's Figures 11-12).
 * Libraries are found with dlsym(RTLD_DEFAULT) (libnodus links none of them): a program that
 * links one, or dlopen()ed it with RTLD_GLOBAL before its first nodus_open(), is held; one
 * that loads it later is not.
 *
 * OpenBLAS: nodus_open() sets it to one thread per call: each task's GEMM runs on the task's
 * own core and the parallelism comes from running tasks side by side. The setting is
 * process-wide (the pthread OpenBLAS, Debian's default, has no per-thread count), so it also
 * applies to calls made outside tasks, and to parallel tasks: a multi-core body's BLAS calls
 * run on one thread. $NODUS_HOLD_BLAS=0 leaves OpenBLAS as it was (say, for a program that
 * submits parallel tasks and sets openblas_set_num_threads() itself). An OpenBLAS built with
 * OpenMP (libopenblas0-openmp; Debian's default libopenblas0 is the pthread one) sizes each
 * call by the calling thread's omp_get_max_threads(), which the OpenMP hold below sets to the
 * task's cores, and its openblas_set_num_threads(1) here is an omp_set_num_threads(1) of the
 * thread calling nodus_open(); that variant is not tested here.
 *
 * OpenMP: before each body, the worker sets its own thread's team size (omp_set_num_threads()
 * sets the calling thread's nthreads-var ICV, so bodies on other workers are not affected) to
 * the task's granted core count: a `#pragma omp parallel` in a one-core body runs alone, in a
 * parallel task's body it runs one thread per granted core. Where the team threads run follows
 * from Linux affinity: a thread created without an explicit mask inherits its creator's, and
 * the worker's mask is the granted set while the body runs (worker.c widens it for a parallel
 * task). With OMP_PROC_BIND and OMP_PLACES unset, GNU libgomp creates team threads so and never
 * re-pins them.
 *
 * But libgomp keeps the team threads after the region, in a pool owned by the thread that
 * started it (thr->thread_pool), and the next region started by that thread reuses them with
 * the affinity they were created with. A worker runs bodies with different granted sets (a
 * parallel task's, then a one-core task's whose body asks for num_threads(2), or on a bigger
 * node {0,1} then {0,2}), so a reused pool thread would run on a core now granted to another
 * task. Nothing outside libgomp can re-pin its threads, and OMP_PLACES is read once at
 * libgomp's load, as a node-wide list, so it cannot describe a grant. So the worker frees its
 * own pool whenever the granted set differs from the previous body's on that worker:
 * omp_pause_resource_all(omp_pause_soft) (OpenMP 5.0) on the host runs libgomp's
 * gomp_pause_host(), which joins the calling thread's pool threads and frees the pool (and
 * nothing of other threads' pools: other workers are untouched); the next region creates fresh
 * threads under the current mask. That costs a thread creation per team thread after each
 * change of grant on a worker, and nothing when a worker keeps its grant. A test
 * (tests/integration/test_omp.sh) checks that every team member's mask and CPU lie within the
 * grant over many bodies with alternating grants; without the pause it fails.
 *
 * Limits: LLVM's libomp (and Intel's) pauses process-wide and keeps its threads on a soft
 * pause, so with it libnodus sets team sizes only (detected by its __kmpc_fork_call). With
 * OMP_PROC_BIND or OMP_PLACES set, libgomp pins team threads to its node-wide places and the
 * grant is not respected: leave them unset in nodus programs. Regions that a body starts from
 * threads of its own (not the worker) get that thread's ICVs, which the body controls.
 * A user's OMP_NUM_THREADS (its first level) that is smaller than a grant caps the team: the
 * hold only keeps teams inside the grant, it never widens one the user made narrower (the
 * sanitizer runs set OMP_NUM_THREADS=1, as libgomp is not instrumented for TSan).
 * $NODUS_HOLD_OMP=0 leaves OpenMP alone (default team size: every CPU of the process).
 *
 * PoCL's CPU device is held by ocl.c (POCL_MAX_PTHREAD_COUNT).
 */
#include "threadlibs.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef void (*threadlibs_set_fn)(int);
typedef int (*threadlibs_pause_fn)(int);

/* omp_pause_soft in omp.h (OpenMP 5.0: omp_pause_resource_t) */
#define THREADLIBS_OMP_PAUSE_SOFT 1

static pthread_once_t threadlibs_omp_once = PTHREAD_ONCE_INIT;
/* written once under threadlibs_omp_once, before any worker thread exists; read-only after */
static threadlibs_set_fn threadlibs_omp_set_num_threads;
static threadlibs_pause_fn threadlibs_omp_pause;
static unsigned threadlibs_omp_cap; /* OMP_NUM_THREADS's first level; 0: unset or unusable */

static bool threadlibs_opted_out(const char *var)
{
    const char *hold = getenv(var);
    return hold && !strcmp(hold, "0");
}

static void *threadlibs_find(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

static void threadlibs_omp_resolve(void)
{
    if (threadlibs_opted_out("NODUS_HOLD_OMP")) return;
    /* POSIX's way to turn dlsym's object pointer into a function pointer */
    *(void **)&threadlibs_omp_set_num_threads = threadlibs_find("omp_set_num_threads");
    if (!threadlibs_omp_set_num_threads) return;
    const char *env = getenv("OMP_NUM_THREADS");
    if (env) {
        char *end;
        unsigned long v = strtoul(env, &end, 10);
        if (end != env && (*end == '\0' || *end == ',') && v > 0 && v <= 65536)
            threadlibs_omp_cap = (unsigned)v;
    }
    /* the per-thread pause is libgomp's; LLVM's libomp has one process-wide pool */
    if (!threadlibs_find("__kmpc_fork_call"))
        *(void **)&threadlibs_omp_pause = threadlibs_find("omp_pause_resource_all");
}

void threadlibs_hold(void)
{
    pthread_once(&threadlibs_omp_once, threadlibs_omp_resolve);
    if (threadlibs_opted_out("NODUS_HOLD_BLAS")) return;
    threadlibs_set_fn set_threads;
    *(void **)&set_threads = threadlibs_find("openblas_set_num_threads");
    if (set_threads) set_threads(1);
}

void threadlibs_omp_pool_init(threadlibs_omp_pool_t *pool, size_t size, size_t ncpus)
{
    memset(pool, 0, sizeof *pool);
    pool->made_under = CPU_ALLOC(ncpus);
    pool->size = size;
}

void threadlibs_omp_pool_free(threadlibs_omp_pool_t *pool)
{
    if (pool->made_under) CPU_FREE(pool->made_under);
    memset(pool, 0, sizeof *pool);
}

void threadlibs_omp_enter(threadlibs_omp_pool_t *pool, const cpu_set_t *granted, unsigned ncores)
{
    if (!threadlibs_omp_set_num_threads) return;
    unsigned team = ncores > 0 ? ncores : 1;
    if (threadlibs_omp_cap && threadlibs_omp_cap < team) team = threadlibs_omp_cap;
    threadlibs_omp_set_num_threads((int)team);
    if (!granted || !pool->made_under || !threadlibs_omp_pause) return;
    if (pool->known && CPU_EQUAL_S(pool->size, pool->made_under, granted)) return;
    /* before the worker's first body its thread has started no region: no pool to free */
    if (pool->known) threadlibs_omp_pause(THREADLIBS_OMP_PAUSE_SOFT);
    memcpy(pool->made_under, granted, pool->size);
    pool->known = true;
}
