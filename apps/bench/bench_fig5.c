/*
 * nodus-bench-fig5: the source paper's Figure 5 experiment (its Code 4 pattern): for i in 0..N-1
 *
 *     C1: CPU task,    out x[i]            (busy --cpu-us, then fills x[i])
 *     G0: device task, in x[i], out y[i]   (a kernel of about --dev-ms on the device)
 *     C2: CPU task,    in x[i]             (busy --cpu-us)
 *     C3: CPU task,    in y[i]             (busy --cpu-us, checks y[i])
 *
 * run twice on the same graph: task-aware (G0's body enqueues and returns; its successors are
 * released when the device work completes) and blocking (G0's body waits with clFinish /
 * cudaStreamSynchronize before returning, holding its core). Reported per mode: total time, core
 * utilisation (sum of CPU-task body time / (daemon cores x wall time)), the time G0 bodies held
 * a core, and the speed-up of task-aware over blocking; medians of --reps runs.
 *
 *   nodus-bench-fig5 [--device opencl|cuda] [--iters N] [--cpu-us US] [--dev-ms MS] [--reps R]
 *                    [--timeline FILE]   (every body of the last run of each mode, for plots)
 *
 * OpenCL uses the daemon's first OpenCL device; on PoCL (a CPU device) the kernels run on the
 * cores the daemon holds for that device while CPU tasks use the others (docs/BENCHMARKS.md).
 * Exits 77 (with a message) when the daemon owns no device of the kind, or the binary was built
 * without it.
 */
#include "bench_fig5.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef NODUS_BENCH_OPENCL
#include <nodus/opencl.h>
#endif

int fig5_blocking;
double fig5_kernel_ms;
static atomic_ullong cpu_body_ns, device_body_ns;
static unsigned cpu_us = 10000;

uint64_t fig5_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fig5_account_device_body(fig5_iter_t *it, uint64_t start)
{
    uint64_t end = fig5_now_ns();
    it->span[FIG5_G0] = (fig5_span_t){nodus_task_core(), start, end};
    atomic_fetch_add(&device_body_ns, end - start);
}

static void account_cpu_body(fig5_iter_t *it, int which, uint64_t start)
{
    uint64_t end = fig5_now_ns();
    it->span[which] = (fig5_span_t){nodus_task_core(), start, end};
    atomic_fetch_add(&cpu_body_ns, end - start);
}

static void busy(uint64_t t0)
{
    while (fig5_now_ns() - t0 < cpu_us * 1000ull)
        ;
}

/* ---- the CPU tasks ---- */

static void c1_body(void *p)
{
    fig5_iter_t *it = p;
    uint64_t t0 = fig5_now_ns();
    busy(t0);
    for (uint32_t e = 0; e < FIG5_ELEMS; e++)
        it->x[e] = (uint32_t)(t0 >> 10) + e * 2654435761u;
    account_cpu_body(it, FIG5_C1, t0);
}

static void c2_body(void *p)
{
    fig5_iter_t *it = p;
    uint64_t t0 = fig5_now_ns();
    busy(t0);
    volatile uint32_t sum = 0;
    for (uint32_t e = 0; e < FIG5_ELEMS; e++)
        sum += it->x[e];
    account_cpu_body(it, FIG5_C2, t0);
}

static const fig5_backend_t *backend;

static void c3_body(void *p)
{
    fig5_iter_t *it = p;
    uint64_t t0 = fig5_now_ns();
    busy(t0);
    /* two elements: recomputing the whole kernel here would cost as much as the kernel */
    it->ok = it->y[0] == backend->expect(it->x[0]) &&
             it->y[FIG5_ELEMS - 1] == backend->expect(it->x[FIG5_ELEMS - 1]);
    account_cpu_body(it, FIG5_C3, t0);
}

/* ---- the OpenCL device task ---- */

#ifdef NODUS_BENCH_OPENCL
static const char *spin_source =
    "__kernel void spin(__global const uint *x, __global uint *y, uint iters)\n"
    "{ size_t i = get_global_id(0); uint v = x[i];\n"
    "  for (uint k = 0; k < iters; k++) v = v * 1664525u + 1013904223u;\n"
    "  y[i] = v; }\n";
static cl_program cl_prog;
static cl_uint cl_iters; /* LCG steps per element: FIG5_ELEMS work-items of dev_ms in all */

static uint32_t cl_expect(uint32_t x)
{
    for (cl_uint k = 0; k < cl_iters; k++)
        x = x * 1664525u + 1013904223u;
    return x;
}

static void CL_CALLBACK cl_read_done(cl_event ev, cl_int status, void *data)
{
    (void)ev;
    (void)status;
    ((fig5_iter_t *)data)->device_done = fig5_now_ns();
}

/* Enqueues x -> kernel -> y on q; waits when `wait` (or for calibration). */
static cl_int cl_enqueue(cl_command_queue q, cl_context ctx, fig5_iter_t *it, cl_uint iters,
                         int wait)
{
    cl_int err = CL_SUCCESS;
    size_t bytes = sizeof it->x, global = FIG5_ELEMS;
    cl_mem x = clCreateBuffer(ctx, CL_MEM_READ_ONLY, bytes, NULL, &err);
    cl_mem y = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, bytes, NULL, &err);
    cl_kernel k = clCreateKernel(cl_prog, "spin", &err);
    if (x && y && k) {
        err = clEnqueueWriteBuffer(q, x, CL_FALSE, 0, bytes, it->x, 0, NULL, NULL);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 0, sizeof x, &x);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof y, &y);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof iters, &iters);
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL);
        cl_event read = NULL;
        if (err == CL_SUCCESS)
            err = clEnqueueReadBuffer(q, y, CL_FALSE, 0, bytes, it->y, 0, NULL, &read);
        if (err == CL_SUCCESS) err = clSetEventCallback(read, CL_COMPLETE, cl_read_done, it);
        if (read) clReleaseEvent(read);
        if (err == CL_SUCCESS && wait) err = clFinish(q);
    }
    if (k) clReleaseKernel(k);
    if (x) clReleaseMemObject(x);
    if (y) clReleaseMemObject(y);
    return err;
}

static void cl_body(void *p)
{
    uint64_t t0 = fig5_now_ns();
    cl_int err = cl_enqueue(nodus_cl_queue(), nodus_cl_context(), p, cl_iters, fig5_blocking);
    if (err != CL_SUCCESS) fprintf(stderr, "bench-fig5: OpenCL enqueue failed (%d)\n", err);
    fig5_account_device_body(p, t0);
}

static int cl_setup(nodus_t *n, int device, double dev_ms)
{
    cl_context ctx;
    cl_device_id dev;
    int rc = nodus_cl_device_context(n, device, &ctx, &dev);
    if (rc < 0) {
        fprintf(stderr, "bench-fig5: OpenCL device: %s\n", nodus_strerror(rc));
        return rc;
    }
    cl_int err;
    cl_prog = clCreateProgramWithSource(ctx, 1, &spin_source, NULL, &err);
    if (!cl_prog || clBuildProgram(cl_prog, 1, &dev, NULL, NULL, NULL) != CL_SUCCESS) {
        fprintf(stderr, "bench-fig5: cannot build the OpenCL kernel\n");
        return -1;
    }
    /* calibrate on a queue of our own, before any task runs */
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    if (!q) return -1;
    static fig5_iter_t probe;
    cl_uint iters = 1024;
    double took = 0;
    /* PoCL compiles a kernel for its launch size on the first enqueue: keep that out */
    if (cl_enqueue(q, ctx, &probe, 1, 1) != CL_SUCCESS) return -1;
    for (int round = 0; round < 12; round++) {
        uint64_t t0 = fig5_now_ns();
        if (cl_enqueue(q, ctx, &probe, iters, 1) != CL_SUCCESS) break;
        took = (double)(fig5_now_ns() - t0) / 1e6;
        if (took > dev_ms / 4 || iters > (1u << 28)) break;
        iters *= 4;
    }
    /* twice more at the estimate (median of 3 runs each: a shared VM is noisy), to correct for
     * fixed costs; the last median is what the header reports */
    cl_iters = took > 0 ? (cl_uint)((double)iters * dev_ms / took) : 1;
    /* $FIG5_CL_ITERS fixes the work instead (run_interference.sh: the same kernels with PoCL
     * held to the device's cores and not); the header's "measured alone" still measures it */
    const char *fixed = getenv("FIG5_CL_ITERS");
    if (fixed) cl_iters = (cl_uint)strtoul(fixed, NULL, 10);
    for (int pass = 0; pass < 2; pass++) {
        double t[3];
        for (int k = 0; k < 3; k++) {
            uint64_t t0 = fig5_now_ns();
            cl_enqueue(q, ctx, &probe, cl_iters, 1);
            t[k] = (double)(fig5_now_ns() - t0) / 1e6;
        }
        double lo = t[0] < t[1] ? t[0] : t[1], hi = t[0] < t[1] ? t[1] : t[0];
        double med = t[2] < lo ? lo : (t[2] > hi ? hi : t[2]);
        fig5_kernel_ms = med;
        if (pass == 0 && med > 0 && !fixed)
            cl_iters = (cl_uint)((double)cl_iters * dev_ms / med);
    }
    fprintf(stderr, "bench-fig5: OpenCL kernel iterations %u\n", (unsigned)cl_iters);
    clReleaseCommandQueue(q);
    return 0;
}

static void cl_teardown(void)
{
    clReleaseProgram(cl_prog);
}

static const fig5_backend_t opencl_backend = {"opencl", NODUS_DEV_OPENCL, cl_setup,   cl_body,
                                              NULL,     cl_expect,        cl_teardown};
#endif

/* ---- the driver ---- */

typedef struct result {
    double wall_s, util, device_body_s;
    uint64_t t0;
} result_t;

static int run_once(nodus_t *n, nodus_task_attr_t *attr, fig5_iter_t *it, size_t iters, result_t *r)
{
    atomic_store(&cpu_body_ns, 0);
    atomic_store(&device_body_ns, 0);
    memset(it, 0, iters * sizeof *it);
    uint64_t t0 = fig5_now_ns();
    int rc = 0;
    for (size_t i = 0; i < iters && rc == 0; i++) {
        nodus_access_t out_x = {it[i].x, sizeof it[i].x, NODUS_OUT};
        nodus_access_t g0[] = {{it[i].x, sizeof it[i].x, NODUS_IN},
                               {it[i].y, sizeof it[i].y, NODUS_OUT}};
        nodus_access_t in_x = {it[i].x, sizeof it[i].x, NODUS_IN};
        nodus_access_t c3[] = {{it[i].y, sizeof it[i].y, NODUS_IN},
                               {&it[i].ok, sizeof it[i].ok, NODUS_OUT}};
        rc = nodus_submit(n, c1_body, &it[i], &out_x, 1, NULL);
        if (rc == 0) rc = nodus_submit(n, NULL, &it[i], g0, 2, attr);
        if (rc == 0) rc = nodus_submit(n, c2_body, &it[i], &in_x, 1, NULL);
        if (rc == 0) rc = nodus_submit(n, c3_body, &it[i], c3, 2, NULL);
    }
    if (rc == 0) rc = nodus_taskwait(n);
    uint64_t wall = fig5_now_ns() - t0;
    r->t0 = t0;
    if (rc < 0) {
        fprintf(stderr, "bench-fig5: %s\n", nodus_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < iters; i++)
        if (!it[i].ok) {
            fprintf(stderr, "bench-fig5: wrong device result in iteration %zu\n", i);
            return -1;
        }
    r->wall_s = (double)wall / 1e9;
    r->util = (double)atomic_load(&cpu_body_ns) / ((double)nodus_num_cores(n) * (double)wall);
    r->device_body_s = (double)atomic_load(&device_body_ns) / 1e9;
    return 0;
}

/* --timeline: one line per task body (and per G0 device completion) of one run, in ms from the
 * run's start: MODE ITER TASK CORE START END. */
static void timeline_write(FILE *f, const char *mode, const fig5_iter_t *it, size_t iters,
                           uint64_t t0)
{
    static const char *names[] = {"C1", "G0", "C2", "C3"};
    for (size_t i = 0; i < iters; i++) {
        for (int k = 0; k < 4; k++)
            fprintf(f, "%s %zu %s %d %.3f %.3f\n", mode, i, names[k], it[i].span[k].core,
                    (double)(it[i].span[k].start - t0) / 1e6,
                    (double)(it[i].span[k].end - t0) / 1e6);
        if (it[i].device_done)
            fprintf(f, "%s %zu device -1 %.3f %.3f\n", mode, i,
                    (double)(it[i].span[FIG5_G0].start - t0) / 1e6,
                    (double)(it[i].device_done - t0) / 1e6);
    }
}

static int cmp_result(const void *a, const void *b)
{
    double x = ((const result_t *)a)->wall_s, y = ((const result_t *)b)->wall_s;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *kind = "opencl", *timeline = NULL;
    size_t iters = 20;
    double dev_ms = 30;
    int reps = 3;
    static const struct option opts[] = {{"device", required_argument, 0, 'd'},
                                         {"iters", required_argument, 0, 'n'},
                                         {"cpu-us", required_argument, 0, 'c'},
                                         {"dev-ms", required_argument, 0, 'g'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"timeline", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            kind = optarg;
            break;
        case 'n':
            iters = strtoul(optarg, NULL, 10);
            break;
        case 'c':
            cpu_us = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'g':
            dev_ms = atof(optarg);
            break;
        case 'r':
            reps = atoi(optarg);
            break;
        case 't':
            timeline = optarg;
            break;
        default:
            return 2;
        }
    }
    if (iters == 0 || reps < 1 || reps > 99) return 2;
#ifdef NODUS_BENCH_OPENCL
    if (!strcmp(kind, "opencl")) backend = &opencl_backend;
#endif
#ifdef NODUS_BENCH_CUDA
    if (!strcmp(kind, "cuda")) backend = &fig5_cuda_backend;
#endif
    if (!backend) {
        printf("bench-fig5: built without %s support: skipped\n", kind);
        return 77;
    }
    nodus_t *n;
    int rc = nodus_open(&n, "bench-fig5", NULL);
    if (rc < 0) {
        fprintf(stderr, "bench-fig5: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    int device = -1;
    char name[128] = "";
    for (int i = 0; i < nodus_num_devices(n) && device < 0; i++) {
        nodus_device_kind_t k;
        if (nodus_device_info(n, i, &k, name, sizeof name) == 0 && k == backend->kind) device = i;
    }
    if (device < 0) {
        printf("bench-fig5: the daemon owns no %s device: skipped\n", backend->name);
        nodus_close(n);
        return 77;
    }
    if (backend->setup(n, device, dev_ms) < 0) return 1;
    nodus_task_attr_t *attr;
    if (nodus_task_attr_create(&attr) < 0 ||
        nodus_task_attr_set_impl(attr, backend->kind, backend->body) < 0 ||
        nodus_task_attr_set_label(attr, "fig5.G0") < 0)
        return 1;
    fig5_iter_t *it = calloc(iters, sizeof *it);
    if (!it || (backend->pin && backend->pin(it, iters * sizeof *it) < 0)) return 1;
    result_t res[2][99];
    FILE *tl = timeline ? fopen(timeline, "w") : NULL;
    for (int rep = 0; rep < reps && rc == 0; rep++)
        for (int mode = 0; mode < 2 && rc == 0; mode++) { /* alternate: drift hits both */
            fig5_blocking = mode;
            rc = run_once(n, attr, it, iters, &res[mode][rep]);
            if (rc == 0 && tl && rep == reps - 1)
                timeline_write(tl, mode ? "blocking" : "task-aware", it, iters, res[mode][rep].t0);
        }
    if (tl) fclose(tl);
    nodus_task_attr_destroy(attr);
    backend->teardown();
    int cores = nodus_num_cores(n);
    int crc = nodus_close(n);
    free(it);
    if (rc < 0 || crc < 0) return 1;
    qsort(res[0], (size_t)reps, sizeof res[0][0], cmp_result);
    qsort(res[1], (size_t)reps, sizeof res[1][0], cmp_result);
    result_t aware = res[0][reps / 2], blocking = res[1][reps / 2];
    double cpu_work = (double)iters * 3 * cpu_us / 1e6;
    printf("# fig5 device=%s (%s) cores=%d iters=%zu cpu_task=%.1fms device_kernel=%.1fms "
           "(measured alone: %.1fms) cpu_work=%.2fs device_work~%.2fs reps=%d (median)\n",
           backend->name, name, cores, iters, cpu_us / 1e3, dev_ms,
           fig5_kernel_ms > 0 ? fig5_kernel_ms : dev_ms, cpu_work, (double)iters * dev_ms / 1e3,
           reps);
    printf("mode=task-aware wall_s=%.3f core_util=%.1f%% device_body_core_s=%.3f\n", aware.wall_s,
           100 * aware.util, aware.device_body_s);
    /* blocking G0 bodies last about as long as their kernels: the kernel time inside the graph */
    printf("mode=blocking   wall_s=%.3f core_util=%.1f%% device_body_core_s=%.3f "
           "(%.1f ms per G0)\n",
           blocking.wall_s, 100 * blocking.util, blocking.device_body_s,
           1e3 * blocking.device_body_s / (double)iters);
    printf("speedup=%.2f\n", blocking.wall_s / aware.wall_s);
    return 0;
}
