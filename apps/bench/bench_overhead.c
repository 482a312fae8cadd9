/*
 * nodus-bench-overhead: cost per task through nodusd, and FLOP/s for compute-bound tasks.
 *
 *   nodus-bench-overhead [--tasks N] [--pattern indep|chain|stencil] [--width W] [--iters K]
 *                        [--reps R] [--clients C]
 *
 * Each of C client processes (forked before connecting, each its own session) submits the
 * graph of bench_common.h — N tasks, independent, a chain (each INOUT on one cell) or a
 * stencil_1d of width W (default: the daemon's cores) — and waits for it. Bodies are empty, or
 * K kernel iterations. Reported: wall time from the first submit to the last taskwait across all
 * clients (median of R runs), per task (ns per task, the inverse of node-wide throughput), as
 * Task Bench's granularity, and as GFLOP/s. nodus-bench-omp and nodus-bench-starpu build the
 * same graphs with OpenMP tasks and StarPU.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nodus.h>

#include "bench_common.h"

static void body(void *arg)
{
    bench_kernel((long)(intptr_t)arg);
}

/* Submits the graph; returns 0 or a nodus error. `rows` holds 2 x width cells. */
static int submit_graph(nodus_t *n, const bench_opts_t *o, int width, double *rows, size_t *ntasks)
{
    void *arg = (void *)(intptr_t)o->iters;
    int rc = 0;
    if (o->pattern != BENCH_STENCIL) {
        nodus_access_t acc = {rows, sizeof *rows, NODUS_INOUT};
        int chain = o->pattern == BENCH_CHAIN;
        for (size_t i = 0; i < o->ntasks && rc == 0; i++)
            rc = nodus_submit(n, body, arg, chain ? &acc : NULL, chain ? 1 : 0, NULL);
        *ntasks = o->ntasks;
        return rc;
    }
    size_t steps = (o->ntasks + (size_t)width - 1) / (size_t)width;
    for (size_t t = 0; t < steps && rc == 0; t++) {
        double *cur = rows + (t % 2) * (size_t)width, *prev = rows + ((t + 1) % 2) * (size_t)width;
        for (int i = 0; i < width && rc == 0; i++) {
            int lo = i > 0 ? i - 1 : 0, hi = i + 1 < width ? i + 1 : i;
            nodus_access_t acc[2] = {{&cur[i], sizeof *cur, NODUS_OUT},
                                     {&prev[lo], (size_t)(hi - lo + 1) * sizeof *prev, NODUS_IN}};
            rc = nodus_submit(n, body, arg, acc, t > 0 ? 2 : 1, NULL);
        }
    }
    *ntasks = steps * (size_t)width;
    return rc;
}

/* One client's run: its start and end times, the graph's size and the daemon's cores. */
typedef struct {
    double start, end;
    size_t ntasks;
    int width, cores;
} client_result_t;

static int run_client(const bench_opts_t *o, client_result_t *res)
{
    nodus_t *n;
    int rc = nodus_open(&n, "bench-overhead", NULL);
    if (rc < 0) {
        fprintf(stderr, "bench: nodus_open: %s\n", nodus_strerror(rc));
        return -1;
    }
    res->cores = nodus_num_cores(n);
    res->width = o->width ? o->width : res->cores;
    double *rows = calloc(2 * (size_t)res->width, sizeof *rows);
    if (!rows) rc = NODUS_ENOMEM;
    res->start = bench_now();
    if (rc == 0) rc = submit_graph(n, o, res->width, rows, &res->ntasks);
    if (rc == 0) rc = nodus_taskwait(n);
    res->end = bench_now();
    int crc = nodus_close(n);
    free(rows);
    if (rc < 0 || crc < 0) {
        fprintf(stderr, "bench: %s\n", nodus_strerror(rc < 0 ? rc : crc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    if (bench_parse(argc, argv, "nodus-bench-overhead", 1, &o) < 0) return 2;
    /* per client: its result (shared with the children) */
    client_result_t *res = mmap(NULL, sizeof *res * (size_t)o.clients, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    double *secs = calloc((size_t)o.reps, sizeof *secs);
    if (res == MAP_FAILED || !secs) return 1;
    for (int r = 0; r < o.reps; r++) {
        for (int c = 0; c < o.clients; c++) {
            pid_t p = fork();
            if (p == 0) _exit(run_client(&o, &res[c]) < 0 ? 1 : 0);
            if (p < 0) return 1;
        }
        int failed = 0, st;
        while (wait(&st) > 0)
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed = 1;
        if (failed) {
            fprintf(stderr, "bench: a client failed\n");
            return 1;
        }
        double first = res[0].start, last = res[0].end;
        for (int c = 1; c < o.clients; c++) {
            if (res[c].start < first) first = res[c].start;
            if (res[c].end > last) last = res[c].end;
        }
        secs[r] = last - first;
    }
    bench_report("nodus", &o, res[0].width, res[0].cores, res[0].ntasks, o.clients, secs);
    free(secs);
    munmap(res, sizeof *res * (size_t)o.clients);
    return 0;
}
