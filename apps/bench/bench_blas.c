/*
 * nodus-bench-blas: interference between a threaded library and the task scheduler (the source
 * paper's Figures 11-12, with OpenBLAS in place of its OpenMP library).
 *
 *   nodus-bench-blas [--tasks N] [--size S] [--reps R]
 *
 * Submits N independent tasks to nodusd, each an S x S single-precision GEMM (cblas_sgemm) into
 * its own output matrix, and waits. Whether libnodus holds OpenBLAS to one thread per task is
 * what is measured: NODUS_HOLD_BLAS=0 leaves OpenBLAS at its default (a thread per core inside
 * every task, while the daemon runs a task on every core: oversubscription); unset, libnodus
 * sets OpenBLAS to 1 thread at nodus_open (client-lib/src/threadlibs.c). The driver checks
 * every result and prints one key=value line: median wall time of R runs, GFLOP/s, and the
 * OpenBLAS thread count a task body saw.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <nodus.h>

#include "bench_common.h"

/* One task's GEMM: C = A * B, all S x S, row-major. */
typedef struct {
    const float *a, *b;
    float *c;
    int size;
} gemm_task_t;

/* OpenBLAS threads as a task body saw them (the first body to run records it). */
static _Atomic int seen_threads = -1;

static void gemm_body(void *arg)
{
    const gemm_task_t *t = arg;
    int expected = -1;
    atomic_compare_exchange_strong(&seen_threads, &expected, openblas_get_num_threads());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t->size, t->size, t->size, 1.0f, t->a,
                t->size, t->b, t->size, 0.0f, t->c, t->size);
}

int main(int argc, char **argv)
{
    size_t ntasks = 64;
    int size = 256, reps = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tasks"))
            ntasks = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--size"))
            size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else
            argc = -1;
    }
    if (argc < 0 || argc % 2 == 0 || ntasks == 0 || ntasks > 100000 || size < 1 || size > 4096 ||
        reps < 1 || reps > 100) {
        fprintf(stderr, "usage: nodus-bench-blas [--tasks N] [--size S] [--reps R]\n");
        return 2;
    }
    int threads_before = openblas_get_num_threads();
    nodus_t *n;
    int rc = nodus_open(&n, "bench-blas", NULL);
    if (rc < 0) {
        fprintf(stderr, "bench: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    size_t elems = (size_t)size * (size_t)size;
    float *a = malloc(elems * sizeof *a), *b = malloc(elems * sizeof *b);
    float *c = calloc(ntasks * elems, sizeof *c);
    gemm_task_t *tasks = calloc(ntasks, sizeof *tasks);
    double *secs = calloc((size_t)reps, sizeof *secs);
    if (!a || !b || !c || !tasks || !secs) return 1;
    for (size_t i = 0; i < elems; i++)
        a[i] = 1.0f, b[i] = 0.5f;
    for (size_t i = 0; i < ntasks; i++)
        tasks[i] = (gemm_task_t){a, b, c + i * elems, size};
    for (int r = 0; r < reps && rc == 0; r++) {
        double t0 = bench_now();
        for (size_t i = 0; i < ntasks && rc == 0; i++) {
            nodus_access_t acc[3] = {{a, elems * sizeof *a, NODUS_IN},
                                     {b, elems * sizeof *b, NODUS_IN},
                                     {tasks[i].c, elems * sizeof *c, NODUS_OUT}};
            rc = nodus_submit(n, gemm_body, &tasks[i], acc, 3, NULL);
        }
        if (rc == 0) rc = nodus_taskwait(n);
        secs[r] = bench_now() - t0;
    }
    int cores = nodus_num_cores(n);
    int crc = nodus_close(n);
    if (rc < 0 || crc < 0) {
        fprintf(stderr, "bench: %s\n", nodus_strerror(rc < 0 ? rc : crc));
        return 1;
    }
    size_t wrong = 0;
    for (size_t i = 0; i < ntasks; i++)
        wrong +=
            c[i * elems] != 0.5f * (float)size || c[i * elems + elems - 1] != 0.5f * (float)size;
    if (wrong) {
        fprintf(stderr, "bench: %zu wrong results\n", wrong);
        return 1;
    }
    double wall = bench_median(secs, reps);
    const char *hold = getenv("NODUS_HOLD_BLAS");
    printf("runtime=nodus library=openblas hold=%s cores=%d openblas_threads_default=%d "
           "openblas_threads_in_task=%d tasks=%zu size=%d reps=%d wall_s=%.6f ms_per_task=%.3f "
           "gflops=%.3f\n",
           hold && !strcmp(hold, "0") ? "no" : "yes", cores, threads_before,
           atomic_load(&seen_threads), ntasks, size, reps, wall, wall * 1e3 / (double)ntasks,
           2.0 * size * size * (double)size * (double)ntasks / wall * 1e-9);
    free(a);
    free(b);
    free(c);
    free(tasks);
    free(secs);
    return 0;
}
