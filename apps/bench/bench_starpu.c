/*
 * nodus-bench-starpu: the graphs of nodus-bench-overhead as StarPU tasks (starpu_task_insert
 * with STARPU_R / STARPU_W / STARPU_RW on one data handle per cell; sequential consistency
 * derives the dependencies, as nodus does from byte ranges).
 *
 *   nodus-bench-starpu [--tasks N] [--pattern indep|chain|stencil] [--width W] [--iters K]
 *                      [--reps R]
 *
 * StarPU's environment is set here unless the user set it: STARPU_NCPU = the cores of this
 * process's affinity mask, no CUDA or OpenCL workers, STARPU_SILENT (no banner), and STARPU_HOME
 * in a private temporary directory removed at exit, so runs leave no calibration files in $HOME.
 * The scheduler is StarPU's default (STARPU_SCHED overrides). Output: bench_common.h.
 */
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <starpu.h>

#include "bench_common.h"

/* Kernel iterations of the current run: constant while tasks run (bodies only read it). */
static long starpu_bench_iters;

static void body(void *buffers[], void *cl_arg)
{
    (void)buffers;
    (void)cl_arg;
    bench_kernel(starpu_bench_iters);
}

static struct starpu_codelet cl_plain = {.cpu_funcs = {body}, .nbuffers = 0, .name = "plain"};
static struct starpu_codelet cl_rw = {
    .cpu_funcs = {body}, .nbuffers = 1, .modes = {STARPU_RW}, .name = "chain"};
static struct starpu_codelet cl_stencil = {
    .cpu_funcs = {body}, .nbuffers = STARPU_VARIABLE_NBUFFERS, .name = "stencil"};

/* nftw callback: removes one entry of the private STARPU_HOME, children first. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Sets a StarPU variable unless the user did. */
static void env_default(const char *name, const char *value)
{
    setenv(name, value, 0);
}

/* Submits the graph and waits; returns the tasks made, or 0 on error. */
static size_t run_graph(const bench_opts_t *o, int width, starpu_data_handle_t *cells)
{
    int rc = 0;
    size_t made = o->ntasks;
    if (o->pattern == BENCH_INDEP) {
        for (size_t i = 0; i < o->ntasks && rc == 0; i++)
            rc = starpu_task_insert(&cl_plain, 0);
    } else if (o->pattern == BENCH_CHAIN) {
        for (size_t i = 0; i < o->ntasks && rc == 0; i++)
            rc = starpu_task_insert(&cl_rw, STARPU_RW, cells[0], 0);
    } else {
        size_t steps = (o->ntasks + (size_t)width - 1) / (size_t)width;
        made = steps * (size_t)width;
        for (size_t t = 0; t < steps && rc == 0; t++) {
            starpu_data_handle_t *cur = cells + (t % 2) * (size_t)width;
            starpu_data_handle_t *prev = cells + ((t + 1) % 2) * (size_t)width;
            for (int i = 0; i < width && rc == 0; i++) {
                struct starpu_data_descr d[4];
                int nd = 0;
                d[nd++] = (struct starpu_data_descr){cur[i], STARPU_W};
                for (int j = i - 1; t > 0 && j <= i + 1; j++)
                    if (j >= 0 && j < width)
                        d[nd++] = (struct starpu_data_descr){prev[j], STARPU_R};
                rc = starpu_task_insert(&cl_stencil, STARPU_DATA_MODE_ARRAY, d, nd, 0);
            }
        }
    }
    if (rc != 0) {
        fprintf(stderr, "bench: starpu_task_insert: %s\n", strerror(-rc));
        return 0;
    }
    starpu_task_wait_for_all();
    return made;
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    if (bench_parse(argc, argv, "nodus-bench-starpu", 0, &o) < 0) return 2;
    cpu_set_t set;
    int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    char ncpu[16], home[] = "/tmp/nodus-bench-starpu.XXXXXX";
    snprintf(ncpu, sizeof ncpu, "%d", cores);
    int own_home = !getenv("STARPU_HOME");
    if (own_home && !mkdtemp(home)) {
        perror("bench: mkdtemp");
        return 1;
    }
    if (own_home) setenv("STARPU_HOME", home, 1);
    env_default("STARPU_NCPU", ncpu);
    env_default("STARPU_NCUDA", "0");
    env_default("STARPU_NOPENCL", "0");
    env_default("STARPU_SILENT", "1");
    int rc = starpu_init(NULL);
    if (rc != 0) {
        fprintf(stderr, "bench: starpu_init: %s\n", strerror(-rc));
        return rc == -ENODEV ? 77 : 1;
    }
    cores = (int)starpu_cpu_worker_get_count();
    int width = o.width ? o.width : cores;
    double *rows = calloc(2 * (size_t)width, sizeof *rows);
    double *secs = calloc((size_t)o.reps, sizeof *secs);
    starpu_data_handle_t *cells = calloc(2 * (size_t)width, sizeof *cells);
    if (!rows || !secs || !cells) return 1;
    for (int i = 0; i < 2 * width; i++)
        starpu_variable_data_register(&cells[i], STARPU_MAIN_RAM, (uintptr_t)&rows[i],
                                      sizeof *rows);
    starpu_bench_iters = o.iters;
    size_t ntasks = 0;
    for (int r = 0; r < o.reps && rc == 0; r++) {
        double t0 = bench_now();
        ntasks = run_graph(&o, width, cells);
        secs[r] = bench_now() - t0;
        if (ntasks == 0) rc = 1;
    }
    for (int i = 0; i < 2 * width; i++)
        starpu_data_unregister(cells[i]);
    starpu_shutdown();
    if (own_home && nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench: could not remove %s\n", home);
    if (rc == 0) bench_report("starpu", &o, width, cores, ntasks, 1, secs);
    free(rows);
    free(secs);
    free(cells);
    return rc;
}
