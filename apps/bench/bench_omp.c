/*
 * nodus-bench-omp: the graphs of nodus-bench-overhead as OpenMP tasks with `depend` clauses (the
 * baseline a user compares nodus with): one parallel region of OMP_NUM_THREADS threads (default:
 * every core), one thread creating the tasks, the others running them.
 *
 *   nodus-bench-omp [--tasks N] [--pattern indep|chain|stencil] [--width W] [--iters K] [--reps R]
 *
 * Timing starts before the first task is created and ends after the closing taskwait, inside
 * the region (the team is already up, as nodus's workers are). Output: bench_common.h.
 */
#include <omp.h>
#include <stdlib.h>

#include "bench_common.h"

/* Creates the graph from the single thread and waits for it; returns the tasks made. */
static size_t run_graph(const bench_opts_t *o, int width, double *rows)
{
    long iters = o->iters;
    if (o->pattern == BENCH_INDEP) {
        for (size_t i = 0; i < o->ntasks; i++) {
#pragma omp task firstprivate(iters)
            bench_kernel(iters);
        }
    } else if (o->pattern == BENCH_CHAIN) {
        for (size_t i = 0; i < o->ntasks; i++) {
#pragma omp task firstprivate(iters) depend(inout : rows[0])
            bench_kernel(iters);
        }
    } else {
        size_t steps = (o->ntasks + (size_t)width - 1) / (size_t)width;
        for (size_t t = 0; t < steps; t++) {
            double *cur = rows + (t % 2) * (size_t)width;
            double *prev = rows + ((t + 1) % 2) * (size_t)width;
            (void)cur; /* GCC 12 counts uses in depend clauses as none (-Wunused-variable) */
            (void)prev;
            for (int i = 0; i < width; i++) {
                int lo = i > 0 ? i - 1 : 0, hi = i + 1 < width ? i + 1 : i;
#pragma omp task firstprivate(iters) depend(out : cur[i]) depend(in : prev[lo], prev[i], prev[hi])
                bench_kernel(iters);
            }
        }
#pragma omp taskwait
        return steps * (size_t)width;
    }
#pragma omp taskwait
    return o->ntasks;
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    if (bench_parse(argc, argv, "nodus-bench-omp", 0, &o) < 0) return 2;
    int cores = omp_get_max_threads();
    int width = o.width ? o.width : cores;
    double *rows = calloc(2 * (size_t)width, sizeof *rows);
    double *secs = calloc((size_t)o.reps, sizeof *secs);
    if (!rows || !secs) return 1;
    size_t ntasks = 0;
    for (int r = 0; r < o.reps; r++) {
#pragma omp parallel
#pragma omp single
        {
            double t0 = bench_now();
            ntasks = run_graph(&o, width, rows);
            secs[r] = bench_now() - t0;
        }
    }
    bench_report("openmp", &o, width, cores, ntasks, 1, secs);
    free(rows);
    free(secs);
    return 0;
}
