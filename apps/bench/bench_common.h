/*
 * bench_common.h: what the task-graph drivers share (nodus, OpenMP tasks, StarPU), so that the
 * three measure the same graphs with the same kernel and print the same line.
 *
 * Patterns (N tasks in all):
 *   indep    N tasks without accesses
 *   chain    N tasks, each INOUT on one cell: a serial chain
 *   stencil  Task Bench's stencil_1d: W columns x N/W steps; task (t, i) writes cell i of row
 *            t % 2 and reads cells i-1, i, i+1 of the previous row (W defaults to the cores)
 * The body runs bench_kernel(iters): 0 is an empty task (overhead), more is compute-bound work
 * (METG). Every driver prints one line of key=value pairs, the median of --reps runs.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>

/* The graphs a driver can build. */
typedef enum { BENCH_INDEP, BENCH_CHAIN, BENCH_STENCIL } bench_pattern_t;

/* Command-line options shared by every driver. */
typedef struct {
    size_t ntasks;           /* tasks per run (stencil: rounded up to whole steps) */
    bench_pattern_t pattern; /* graph shape */
    int width;               /* stencil width; 0: the runtime's core count */
    long iters;              /* kernel iterations per task; 0: empty body */
    int reps;                /* runs; the median is printed */
    int clients;             /* nodus only: client processes at once */
} bench_opts_t;

/* Floating-point operations one kernel iteration performs (4 chains of a multiply-add). */
#define BENCH_FLOPS_PER_ITER 8.0

/* Parses argv into *o (defaults first); prints usage naming `prog` and returns -1 on error. */
int bench_parse(int argc, char **argv, const char *prog, int with_clients, bench_opts_t *o);

/* The pattern's name as printed and parsed. */
const char *bench_pattern_name(bench_pattern_t p);

/* Monotonic clock in seconds. */
double bench_now(void);

/*
 * The compute-bound body: `iters` iterations of four dependent multiply-add chains (the compiler
 * may not reassociate or drop them: the result is compared at run time). Thread-safe.
 */
void bench_kernel(long iters);

/* Median of v[0..n) (sorts v in place). */
double bench_median(double *v, int n);

/* Prints the driver's result line: `secs` holds each run's wall time (sorted in place). */
void bench_report(const char *runtime, const bench_opts_t *o, int width, int cores,
                  size_t tasks_per_run, int clients, double *secs);

#endif
