/*
 * bench_common.c: option parsing, the compute kernel and the result line shared by the
 * task-graph drivers (bench_overhead.c for nodus, bench_omp.c, bench_starpu.c).
 */
#include "bench_common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Written only if the kernel ever produced an impossible value: keeps its result alive. */
volatile int bench_kernel_sink;

static const char *const pattern_names[] = {"indep", "chain", "stencil"};

const char *bench_pattern_name(bench_pattern_t p)
{
    return pattern_names[p];
}

int bench_parse(int argc, char **argv, const char *prog, int with_clients, bench_opts_t *o)
{
    *o = (bench_opts_t){.ntasks = 100000, .pattern = BENCH_INDEP, .reps = 3, .clients = 1};
    static const struct option opts[] = {{"tasks", required_argument, 0, 'n'},
                                         {"pattern", required_argument, 0, 'p'},
                                         {"width", required_argument, 0, 'w'},
                                         {"iters", required_argument, 0, 'i'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"clients", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            o->ntasks = strtoul(optarg, NULL, 10);
            break;
        case 'p': {
            int known = 0;
            for (int p = 0; p < 3; p++)
                if (!strcmp(optarg, pattern_names[p])) o->pattern = (bench_pattern_t)p, known = 1;
            bad |= !known;
            break;
        }
        case 'w':
            o->width = atoi(optarg);
            break;
        case 'i':
            o->iters = atol(optarg);
            break;
        case 'r':
            o->reps = atoi(optarg);
            break;
        case 'c':
            o->clients = atoi(optarg);
            bad |= !with_clients;
            break;
        default:
            bad = 1;
        }
    }
    if (bad || optind != argc || o->ntasks == 0 || o->reps < 1 || o->reps > 1000 || o->width < 0 ||
        o->width > 4096 || o->iters < 0 || o->clients < 1 || o->clients > 64) {
        fprintf(stderr,
                "usage: %s [--tasks N] [--pattern indep|chain|stencil] [--width W] "
                "[--iters K] [--reps R]%s\n",
                prog, with_clients ? " [--clients C]" : "");
        return -1;
    }
    return 0;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_kernel(long iters)
{
    double a = 1.0, b = 1.5, c = 2.0, d = 2.5;
    const double m = 0.9999999, k = 1e-7;
    for (long i = 0; i < iters; i++) {
        a = a * m + k;
        b = b * m + k;
        c = c * m + k;
        d = d * m + k;
    }
    if (a + b + c + d == -1.0) bench_kernel_sink = 1; /* never: all four stay positive */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_report(const char *runtime, const bench_opts_t *o, int width, int cores,
                  size_t tasks_per_run, int clients, double *secs)
{
    double wall = bench_median(secs, o->reps);
    double tasks = (double)tasks_per_run * clients;
    /* Task Bench's granularity: the core time each task occupied, overhead included */
    printf("runtime=%s pattern=%s width=%d cores=%d clients=%d tasks=%zu iters=%ld reps=%d "
           "wall_s=%.6f ns_per_task=%.0f tasks_per_s=%.0f granularity_us=%.3f gflops=%.4f\n",
           runtime, bench_pattern_name(o->pattern), width, cores, clients, tasks_per_run, o->iters,
           o->reps, wall, wall * 1e9 / tasks, tasks / wall, wall * cores * 1e6 / tasks,
           tasks * (double)o->iters * BENCH_FLOPS_PER_ITER / wall * 1e-9);
}
