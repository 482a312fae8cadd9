/*
 * threadlibs.c: holds the thread pools of libraries that task bodies call.
 *
 * A task body runs on one core the daemon granted, and the daemon runs another task on every
 * other core. A BLAS that spawns a thread per core inside each call therefore puts cores x cores
 * threads on the node (oversubscription: the source paper's Figures 11-12). So nodus_open()
 * sets OpenBLAS, when the process has it loaded, to one thread per call: each task's GEMM runs on
 * the task's own core and the parallelism comes from running tasks side by side.
 *
 * OpenBLAS is found with dlsym(RTLD_DEFAULT) (libnodus does not link it): a program that links
 * OpenBLAS, or dlopen()ed it with RTLD_GLOBAL before nodus_open(), is held; one that loads it
 * later is not. The setting is process-wide (OpenBLAS has no per-thread count), so it also
 * applies to calls made outside tasks. $NODUS_HOLD_BLAS=0 leaves OpenBLAS as it was (say, for a
 * program that submits parallel tasks and sets openblas_set_num_threads() itself).
 * PoCL's CPU device is held by ocl.c (POCL_MAX_PTHREAD_COUNT).
 */
#include "threadlibs.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef void (*threadlibs_set_fn)(int);

void threadlibs_hold(void)
{
    const char *hold = getenv("NODUS_HOLD_BLAS");
    if (hold && !strcmp(hold, "0")) return;
    threadlibs_set_fn set_threads;
    /* POSIX's way to turn dlsym's object pointer into a function pointer */
    *(void **)&set_threads = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set_threads) set_threads(1);
}
