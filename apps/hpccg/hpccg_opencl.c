/*
 * hpccg_opencl.c: OpenCL bodies of the kernel tasks. Every array the kernels touch is wrapped
 * once in a CL_MEM_USE_HOST_PTR buffer and a body passes element offsets as kernel arguments,
 * so no data is ever copied: on a device with host-unified memory (PoCL's CPU device) the
 * kernels work on the very host arrays the CPU bodies use. That is what makes "mixed" correct
 * here: a task's successors are released only after its kernels completed (libnodus's marker),
 * and the daemon's dependency tracking orders every CPU and device access to a block. Setup
 * refuses devices without host-unified memory, where the host copy would need map/unmap.
 *
 * Dot products: a kernel sums HPCCG_DOT_SCRATCH contiguous chunks of the block into the
 * block's scratch, a one-work-item kernel adds them in order into the partial sum.
 */
#include "hpccg_opencl.h"

#include <nodus/opencl.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEVICES 8
#define MAX_REGIONS 16

enum { K_WAXPBY, K_SPMV, K_DOT_PARTIAL, K_DOT_FINAL, K_COUNT };
static const char *kernel_names[K_COUNT] = {"waxpby", "spmv", "dot_partial", "dot_final"};

static const char *source =
    "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
    "#pragma OPENCL FP_CONTRACT OFF\n"
    "__kernel void waxpby(__global double *w, ulong wo, __global const double *x, ulong xo,\n"
    "                     __global const double *y, ulong yo, double a, double b, ulong n)\n"
    "{ size_t i = get_global_id(0); if (i < n) w[wo + i] = a * x[xo + i] + b * y[yo + i]; }\n"
    "__kernel void spmv(__global const int *rp, __global const int *cols,\n"
    "                   __global const double *vals, __global const double *p,\n"
    "                   __global double *y, ulong start, ulong n)\n"
    "{ size_t i = get_global_id(0); if (i >= n) return; size_t r = start + i;\n"
    "  double s = 0.0; for (int j = rp[r]; j < rp[r + 1]; j++) s += vals[j] * p[cols[j]];\n"
    "  y[r] = s; }\n"
    "__kernel void dot_partial(__global const double *x, ulong xo, __global const double *y,\n"
    "                          ulong yo, ulong n, __global double *scratch, ulong so)\n"
    "{ ulong g = get_global_id(0), G = get_global_size(0);\n"
    "  ulong lo = n * g / G, hi = n * (g + 1) / G; double s = 0.0;\n"
    "  for (ulong i = lo; i < hi; i++) s += x[xo + i] * y[yo + i];\n"
    "  scratch[so + g] = s; }\n"
    "__kernel void dot_final(__global const double *scratch, ulong so, ulong count,\n"
    "                        __global double *out, ulong oo)\n"
    "{ double s = 0.0; for (ulong i = 0; i < count; i++) s += scratch[so + i];\n"
    "  out[oo] = s; }\n";

typedef struct device {
    cl_context ctx;
    cl_device_id dev;
    cl_program prog;
    cl_mem mem[MAX_REGIONS];
} device_t;

static device_t devices[MAX_DEVICES];
static int ndevices;
static hpccg_region_t regions[MAX_REGIONS];
static int nregions;
static atomic_int failed;

int hpccg_opencl_setup(nodus_t *n, const hpccg_region_t *regs, int nregs)
{
    if (nregs > MAX_REGIONS) return -1;
    memcpy(regions, regs, (size_t)nregs * sizeof *regs);
    nregions = nregs;
    ndevices = 0;
    atomic_store(&failed, 0);
    for (int i = 0; i < nodus_num_devices(n) && ndevices < MAX_DEVICES; i++) {
        nodus_device_kind_t kind;
        char name[128];
        if (nodus_device_info(n, i, &kind, name, sizeof name) < 0 || kind != NODUS_DEV_OPENCL)
            continue;
        device_t *d = &devices[ndevices];
        if (nodus_cl_device_context(n, i, &d->ctx, &d->dev) < 0) continue;
        cl_bool unified = CL_FALSE;
        clGetDeviceInfo(d->dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
        if (!unified) {
            fprintf(stderr, "hpccg: OpenCL device %s has no host-unified memory: not used\n", name);
            continue;
        }
        cl_int err;
        d->prog = clCreateProgramWithSource(d->ctx, 1, &source, NULL, &err);
        if (!d->prog || clBuildProgram(d->prog, 1, &d->dev, NULL, NULL, NULL) != CL_SUCCESS) {
            fprintf(stderr, "hpccg: cannot build the OpenCL kernels for %s\n", name);
            return -1;
        }
        for (int r = 0; r < nregions; r++) {
            d->mem[r] = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR,
                                       regions[r].bytes, regions[r].ptr, &err);
            if (!d->mem[r]) {
                fprintf(stderr, "hpccg: OpenCL buffer over host memory failed (%d)\n", err);
                return -1;
            }
        }
        ndevices++;
    }
    return ndevices > 0 ? 0 : NODUS_ENOTSUP;
}

/* The buffer holding `ptr` on device `d` and ptr's offset in it, in elements of `elem` bytes. */
static cl_mem lookup(const device_t *d, const void *ptr, size_t elem, cl_ulong *offset)
{
    for (int r = 0; r < nregions; r++) {
        uintptr_t base = (uintptr_t)regions[r].ptr, p = (uintptr_t)ptr;
        if (p >= base && p < base + regions[r].bytes) {
            *offset = (cl_ulong)((p - base) / elem);
            return d->mem[r];
        }
    }
    return NULL;
}

/* A fresh kernel object per use: clSetKernelArg on a shared one would race between workers,
 * and per-thread caches would outlive the program (worker threads end after teardown). */
static cl_kernel kernel(int dev, int which, cl_kernel *keep)
{
    cl_kernel k = clCreateKernel(devices[dev].prog, kernel_names[which], NULL);
    *keep = k;
    return k;
}

static void CL_CALLBACK done(cl_event ev, cl_int status, void *arg)
{
    (void)ev;
    hpccg_ktask_t *t = arg;
    if (status != CL_COMPLETE) atomic_store(&failed, 1);
    hpccg_tasks_account(t, NODUS_DEV_OPENCL, hpccg_now() - t->t0);
}

#define SETARG(k, i, v) (err |= clSetKernelArg((k), (i), sizeof(v), &(v)))

static cl_int enqueue(int dv, hpccg_ktask_t *t, cl_command_queue q, cl_event *last,
                      cl_kernel keep[2])
{
    const device_t *d = &devices[dv];
    cl_int err = CL_SUCCESS;
    cl_ulong o1 = 0, o2 = 0, o3 = 0, n = t->n, start = t->start;
    size_t global = t->n;
    switch (t->kind) {
    case HPCCG_K_WAXPBY: {
        cl_kernel k = kernel(dv, K_WAXPBY, &keep[0]);
        double a, b;
        hpccg_ktask_coeffs(t, &a, &b);
        cl_mem w = lookup(d, t->w, sizeof(double), &o1), x = lookup(d, t->x, sizeof(double), &o2);
        cl_mem y = lookup(d, t->y, sizeof(double), &o3);
        if (!k || !w || !x || !y) return CL_INVALID_VALUE;
        SETARG(k, 0, w), SETARG(k, 1, o1), SETARG(k, 2, x), SETARG(k, 3, o2);
        SETARG(k, 4, y), SETARG(k, 5, o3), SETARG(k, 6, a), SETARG(k, 7, b), SETARG(k, 8, n);
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, last);
        return err;
    }
    case HPCCG_K_SPMV: {
        cl_kernel k = kernel(dv, K_SPMV, &keep[0]);
        const hpccg_problem_t *pb = t->pb;
        cl_mem rp = lookup(d, pb->row_ptr, sizeof(int), &o1);
        cl_mem cols = lookup(d, pb->cols, sizeof(int), &o1);
        cl_mem vals = lookup(d, pb->vals, sizeof(double), &o1);
        cl_mem p = lookup(d, t->x, sizeof(double), &o1), y = lookup(d, t->w, sizeof(double), &o1);
        if (!k || !rp || !cols || !vals || !p || !y) return CL_INVALID_VALUE;
        SETARG(k, 0, rp), SETARG(k, 1, cols), SETARG(k, 2, vals), SETARG(k, 3, p);
        SETARG(k, 4, y), SETARG(k, 5, start), SETARG(k, 6, n);
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, last);
        return err;
    }
    case HPCCG_K_DOT: {
        cl_kernel k1 = kernel(dv, K_DOT_PARTIAL, &keep[0]), k2 = kernel(dv, K_DOT_FINAL, &keep[1]);
        cl_ulong o4 = 0, count = HPCCG_DOT_SCRATCH;
        cl_mem x = lookup(d, t->x, sizeof(double), &o1), y = lookup(d, t->y, sizeof(double), &o2);
        cl_mem s = lookup(d, t->scratch, sizeof(double), &o3);
        cl_mem out = lookup(d, t->out, sizeof(double), &o4);
        if (!k1 || !k2 || !x || !y || !s || !out) return CL_INVALID_VALUE;
        SETARG(k1, 0, x), SETARG(k1, 1, o1), SETARG(k1, 2, y), SETARG(k1, 3, o2);
        SETARG(k1, 4, n), SETARG(k1, 5, s), SETARG(k1, 6, o3);
        SETARG(k2, 0, s), SETARG(k2, 1, o3), SETARG(k2, 2, count), SETARG(k2, 3, out);
        SETARG(k2, 4, o4);
        size_t parts = HPCCG_DOT_SCRATCH, one = 1;
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, k1, 1, NULL, &parts, NULL, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, k2, 1, NULL, &one, NULL, 0, NULL, last);
        return err;
    }
    }
    return CL_INVALID_VALUE;
}

void hpccg_opencl_body(void *arg)
{
    hpccg_ktask_t *t = arg;
    if (!*t->active) return;
    t->t0 = hpccg_now();
    cl_device_id dev = nodus_cl_device();
    int dv = 0;
    while (dv < ndevices && devices[dv].dev != dev)
        dv++;
    cl_event last = NULL;
    cl_kernel keep[2] = {NULL, NULL};
    cl_int err = dv < ndevices ? enqueue(dv, t, nodus_cl_queue(), &last, keep) : CL_INVALID_DEVICE;
    if (err == CL_SUCCESS) err = clSetEventCallback(last, CL_COMPLETE, done, t);
    if (last) clReleaseEvent(last);
    for (int i = 0; i < 2; i++) /* enqueued commands keep their kernels alive */
        if (keep[i]) clReleaseKernel(keep[i]);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "hpccg: OpenCL kernel enqueue failed (%d)\n", err);
        atomic_store(&failed, 1);
    }
}

int hpccg_opencl_teardown(void)
{
    for (int dv = 0; dv < ndevices; dv++) {
        for (int r = 0; r < nregions; r++)
            if (devices[dv].mem[r]) clReleaseMemObject(devices[dv].mem[r]);
        if (devices[dv].prog) clReleaseProgram(devices[dv].prog);
        memset(&devices[dv], 0, sizeof devices[dv]);
    }
    ndevices = 0;
    return atomic_load(&failed) ? -1 : 0;
}
