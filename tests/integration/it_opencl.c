/*
 * it_opencl: OpenCL tasks through a real nodusd, on the first OpenCL device it owns (PoCL's CPU
 * device in CI). Every body enqueues non-blocking writes, a kernel and reads on nodus_cl_queue()
 * and returns; results are checked against the same computation on the CPU.
 *
 *   it_opencl chain [CHAINS] [LEN]    CHAINS interleaved chains of LEN dependent kernels
 *   it_opencl diamond [COUNT]         COUNT diamonds in a row (A -> B, C -> D -> next A),
 *                                     reusing the same arrays (anti-dependencies included)
 *   it_opencl mixed [COUNT]           OpenCL -> CPU -> OpenCL -> CPU pipelines: CPU tasks read
 *                                     OpenCL results, OpenCL tasks read CPU results
 *   it_opencl multiversion [COUNT]    tasks offering a CPU and an OpenCL body (the daemon picks);
 *                                     both must give the same results; prints the kinds used
 *   it_opencl aware [--kernel-ms MS] [--tasks N] [--task-us US] [--device-cores LIST]
 *                                     task-awareness evidence (it_opencl_aware.c)
 *
 * Exits 77 when the daemon owns no OpenCL device, 1 on any wrong result or order.
 */
#include "it_opencl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

atomic_int itcl_errors;
cl_program itcl_program;
int itcl_device = -1;

static const char *kernel_source =
    "__kernel void affine(__global const uint *x, __global uint *y, uint a, uint b)\n"
    "{ size_t i = get_global_id(0); y[i] = x[i] * a + b; }\n"
    "__kernel void square(__global const uint *x, __global uint *y)\n"
    "{ size_t i = get_global_id(0); y[i] = x[i] * x[i]; }\n"
    "__kernel void add(__global const uint *x, __global const uint *z, __global uint *y)\n"
    "{ size_t i = get_global_id(0); y[i] = x[i] + z[i]; }\n"
    "__kernel void spin(__global const uint *x, __global uint *y, uint iters)\n"
    "{ size_t i = get_global_id(0); uint v = x[i];\n"
    "  for (uint k = 0; k < iters; k++) v = v * 1664525u + 1013904223u;\n"
    "  y[i] = v; }\n";

void itcl_fail(const char *what, int code)
{
    if (atomic_fetch_add(&itcl_errors, 1) < 10) fprintf(stderr, "it_opencl: %s (%d)\n", what, code);
}

unsigned long long itcl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

cl_uint itcl_lcg(cl_uint v, cl_uint iters)
{
    for (cl_uint k = 0; k < iters; k++)
        v = v * 1664525u + 1013904223u;
    return v;
}

/* The operation on the CPU: what the kernel computes. */
static void op_cpu(const vec_task_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        cl_uint x = t->in0[i], r = 0;
        switch (t->op) {
        case OP_AFFINE:
            r = x * t->a + t->b;
            break;
        case OP_SQUARE:
            r = x * x;
            break;
        case OP_ADD:
            r = x + t->in1[i];
            break;
        case OP_SPIN:
            r = itcl_lcg(x, t->a);
            break;
        }
        t->out[i] = r;
    }
}

cl_int itcl_enqueue(const vec_task_t *t, cl_command_queue q, cl_context ctx, cl_event *kernel_ev)
{
    static const char *names[] = {"affine", "square", "add", "spin"};
    size_t bytes = t->n * sizeof(cl_uint);
    cl_int err = CL_SUCCESS;
    cl_mem x = clCreateBuffer(ctx, CL_MEM_READ_ONLY, bytes, NULL, &err);
    cl_mem z = t->op == OP_ADD ? clCreateBuffer(ctx, CL_MEM_READ_ONLY, bytes, NULL, &err) : NULL;
    cl_mem y = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, bytes, NULL, &err);
    cl_kernel k = clCreateKernel(itcl_program, names[t->op], &err);
    if (!x || !y || !k || (t->op == OP_ADD && !z)) goto out;
    /* non-blocking: the host arrays stay untouched until the task's device work completes,
     * because its accesses are held until then */
    err = clEnqueueWriteBuffer(q, x, CL_FALSE, 0, bytes, t->in0, 0, NULL, NULL);
    if (err == CL_SUCCESS && z)
        err = clEnqueueWriteBuffer(q, z, CL_FALSE, 0, bytes, t->in1, 0, NULL, NULL);
    cl_uint arg = 0;
    if (err == CL_SUCCESS) err = clSetKernelArg(k, arg++, sizeof x, &x);
    if (err == CL_SUCCESS && z) err = clSetKernelArg(k, arg++, sizeof z, &z);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, arg++, sizeof y, &y);
    if (err == CL_SUCCESS && (t->op == OP_AFFINE || t->op == OP_SPIN))
        err = clSetKernelArg(k, arg++, sizeof t->a, &t->a);
    if (err == CL_SUCCESS && t->op == OP_AFFINE) err = clSetKernelArg(k, arg++, sizeof t->b, &t->b);
    size_t global = t->n;
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, kernel_ev);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(q, y, CL_FALSE, 0, bytes, t->out, 0, NULL, NULL);
out:
    /* released now, freed by OpenCL when the commands that use them have completed */
    if (k) clReleaseKernel(k);
    if (x) clReleaseMemObject(x);
    if (z) clReleaseMemObject(z);
    if (y) clReleaseMemObject(y);
    return err;
}

void itcl_body_opencl(void *p)
{
    vec_task_t *t = p;
    t->ran_kind = nodus_task_device_kind();
    cl_command_queue q = nodus_cl_queue();
    if (t->ran_kind != NODUS_DEV_OPENCL || !q || !nodus_cl_context() || !nodus_cl_device() ||
        nodus_task_device() != itcl_device) {
        itcl_fail("OpenCL body without its OpenCL context", nodus_task_device());
        return;
    }
    if (t->scalar_from) t->b = *t->scalar_from; /* a CPU task's result, read at enqueue time */
    cl_int err = itcl_enqueue(t, q, nodus_cl_context(), NULL);
    if (err != CL_SUCCESS) itcl_fail("enqueue in a body", err);
}

void itcl_body_cpu(void *p)
{
    vec_task_t *t = p;
    t->ran_kind = nodus_task_device_kind();
    if (t->ran_kind != NODUS_DEV_CPU || nodus_task_device() != -1 || nodus_cl_queue())
        itcl_fail("CPU body with a device context", (int)t->ran_kind);
    if (t->scalar_from) t->b = *t->scalar_from;
    op_cpu(t);
}

/* Submits `t` as an OpenCL task (and with a CPU body too when `cpu_too`). */
int itcl_submit(nodus_t *n, vec_task_t *t, nodus_task_attr_t *attr, bool cpu_too)
{
    nodus_access_t acc[4];
    size_t nacc = 0, bytes = t->n * sizeof(cl_uint);
    acc[nacc++] = (nodus_access_t){t->in0, bytes, NODUS_IN};
    if (t->in1) acc[nacc++] = (nodus_access_t){t->in1, bytes, NODUS_IN};
    if (t->scalar_from) acc[nacc++] = (nodus_access_t){t->scalar_from, sizeof(cl_uint), NODUS_IN};
    acc[nacc++] = (nodus_access_t){t->out, bytes, NODUS_OUT};
    int rc = nodus_submit(n, cpu_too ? itcl_body_cpu : NULL, t, acc, nacc, attr);
    if (rc < 0) fprintf(stderr, "it_opencl: submit: %s\n", nodus_strerror(rc));
    return rc;
}

int itcl_open(nodus_t **n, nodus_task_attr_t **ocl_attr)
{
    int rc = nodus_open(n, "it_opencl", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    for (int i = 0; i < nodus_num_devices(*n) && itcl_device < 0; i++) {
        nodus_device_kind_t kind;
        char name[128];
        if (nodus_device_info(*n, i, &kind, name, sizeof name) == 0 && kind == NODUS_DEV_OPENCL) {
            itcl_device = i;
            printf("it_opencl: device %d: %s\n", i, name);
        }
    }
    if (itcl_device < 0) {
        printf("it_opencl: the daemon owns no OpenCL device: skipped\n");
        nodus_close(*n);
        return 77;
    }
    /* libnodus makes the process's first OpenCL call (pinned for PoCL): ask it first */
    cl_context ctx;
    cl_device_id dev;
    rc = nodus_cl_device_context(*n, itcl_device, &ctx, &dev);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: nodus_cl_device_context: %s\n", nodus_strerror(rc));
        return 1;
    }
    cl_int err;
    itcl_program = clCreateProgramWithSource(ctx, 1, &kernel_source, NULL, &err);
    if (!itcl_program || clBuildProgram(itcl_program, 1, &dev, NULL, NULL, NULL) != CL_SUCCESS) {
        fprintf(stderr, "it_opencl: cannot build the kernels\n");
        return 1;
    }
    if (nodus_task_attr_create(ocl_attr) < 0 ||
        nodus_task_attr_set_impl(*ocl_attr, NODUS_DEV_OPENCL, itcl_body_opencl) < 0 ||
        nodus_task_attr_set_label(*ocl_attr, "it_opencl") < 0)
        return 1;
    return 0;
}

cl_uint *itcl_vec(size_t n, unsigned seed)
{
    cl_uint *v = malloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (cl_uint)(i * 2654435761u + seed * 40503u);
    return v;
}

/* ---- chains ---- */

static int run_chain(nodus_t *n, nodus_task_attr_t *attr, size_t chains, size_t len)
{
    const size_t elems = 4096;
    cl_uint **v = calloc(chains, sizeof *v), **ref = calloc(chains, sizeof *ref);
    vec_task_t *t = calloc(chains * len, sizeof *t);
    for (size_t c = 0; c < chains; c++) {
        v[c] = itcl_vec(elems, (unsigned)c);
        ref[c] = itcl_vec(elems, (unsigned)c);
    }
    for (size_t s = 0; s < len; s++) {
        for (size_t c = 0; c < chains; c++) {
            vec_task_t *k = &t[s * chains + c];
            *k = (vec_task_t){.op = OP_AFFINE,
                              .in0 = v[c],
                              .out = v[c],
                              .n = elems,
                              .a = 3,
                              .b = (cl_uint)(s + c + 1)};
            vec_task_t cpu = *k; /* copied before the body may run */
            cpu.in0 = cpu.out = ref[c];
            op_cpu(&cpu);
            if (itcl_submit(n, k, attr, false) < 0) return 1;
        }
    }
    int rc = nodus_taskwait(n);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: taskwait: %s\n", nodus_strerror(rc));
        return 1;
    }
    for (size_t c = 0; c < chains; c++)
        if (memcmp(v[c], ref[c], elems * sizeof(cl_uint)) != 0) itcl_fail("chain result", (int)c);
    printf("it_opencl: chain: %zu chains x %zu kernels: %s\n", chains, len,
           atomic_load(&itcl_errors) ? "WRONG" : "results match the CPU");
    for (size_t c = 0; c < chains; c++) {
        free(v[c]);
        free(ref[c]);
    }
    free(v);
    free(ref);
    free(t);
    return 0;
}

/* ---- diamonds ---- */

static int run_diamond(nodus_t *n, nodus_task_attr_t *attr, size_t count)
{
    const size_t elems = 2048;
    cl_uint *x = itcl_vec(elems, 7), *a = itcl_vec(elems, 0), *b = itcl_vec(elems, 0),
            *c = itcl_vec(elems, 0);
    cl_uint *rx = itcl_vec(elems, 7), *ra = malloc(elems * 4), *rb = malloc(elems * 4),
            *rc_ = malloc(elems * 4);
    vec_task_t *t = calloc(4 * count, sizeof *t);
    for (size_t i = 0; i < count; i++) {
        vec_task_t *d = &t[4 * i];
        d[0] = (vec_task_t){.op = OP_AFFINE, .in0 = x, .out = a, .n = elems, .a = 2, .b = 1};
        d[1] =
            (vec_task_t){.op = OP_AFFINE, .in0 = a, .out = b, .n = elems, .a = 1, .b = (cl_uint)i};
        d[2] = (vec_task_t){.op = OP_SQUARE, .in0 = a, .out = c, .n = elems};
        d[3] = (vec_task_t){.op = OP_ADD, .in0 = b, .in1 = c, .out = x, .n = elems};
        vec_task_t r[4] = {d[0], d[1], d[2], d[3]}; /* copied before the bodies may run */
        for (int k = 0; k < 4; k++)
            if (itcl_submit(n, &d[k], attr, false) < 0) return 1;
        r[0].in0 = rx, r[0].out = ra;
        r[1].in0 = ra, r[1].out = rb;
        r[2].in0 = ra, r[2].out = rc_;
        r[3].in0 = rb, r[3].in1 = rc_, r[3].out = rx;
        for (int k = 0; k < 4; k++)
            op_cpu(&r[k]);
    }
    int rc = nodus_taskwait(n);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: taskwait: %s\n", nodus_strerror(rc));
        return 1;
    }
    if (memcmp(x, rx, elems * 4) != 0) itcl_fail("diamond result", 0);
    printf("it_opencl: diamond: %zu diamonds (%zu kernels): %s\n", count, 4 * count,
           atomic_load(&itcl_errors) ? "WRONG" : "results match the CPU");
    cl_uint *arrays[] = {x, a, b, c, rx, ra, rb, rc_};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    free(t);
    return 0;
}

/* ---- OpenCL and CPU tasks feeding each other ---- */

typedef struct sum_task {
    const cl_uint *in;
    cl_uint *sum;
    size_t n;
} sum_task_t;

static void sum_body(void *p)
{
    sum_task_t *s = p;
    cl_uint acc = 0;
    for (size_t i = 0; i < s->n; i++)
        acc += s->in[i];
    *s->sum = acc;
}

static int run_mixed(nodus_t *n, nodus_task_attr_t *attr, size_t count)
{
    const size_t elems = 1024;
    cl_uint **x = calloc(count, sizeof *x), **y = calloc(count, sizeof *y),
            **z = calloc(count, sizeof *z), *s = calloc(count, sizeof *s),
            *zs = calloc(count, sizeof *zs);
    vec_task_t *g = calloc(2 * count, sizeof *g);
    sum_task_t *c = calloc(2 * count, sizeof *c);
    for (size_t i = 0; i < count; i++) {
        x[i] = itcl_vec(elems, (unsigned)i + 11);
        y[i] = calloc(elems, sizeof(cl_uint));
        z[i] = calloc(elems, sizeof(cl_uint));
        g[2 * i] =
            (vec_task_t){.op = OP_AFFINE, .in0 = x[i], .out = y[i], .n = elems, .a = 5, .b = 7};
        c[2 * i] = (sum_task_t){.in = y[i], .sum = &s[i], .n = elems};
        g[2 * i + 1] = (vec_task_t){
            .op = OP_AFFINE, .in0 = y[i], .out = z[i], .n = elems, .a = 1, .scalar_from = &s[i]};
        c[2 * i + 1] = (sum_task_t){.in = z[i], .sum = &zs[i], .n = elems};
        nodus_access_t a1[] = {{y[i], elems * 4, NODUS_IN}, {&s[i], 4, NODUS_OUT}};
        nodus_access_t a2[] = {{z[i], elems * 4, NODUS_IN}, {&zs[i], 4, NODUS_OUT}};
        if (itcl_submit(n, &g[2 * i], attr, false) < 0 ||
            nodus_submit(n, sum_body, &c[2 * i], a1, 2, NULL) < 0 ||
            itcl_submit(n, &g[2 * i + 1], attr, false) < 0 ||
            nodus_submit(n, sum_body, &c[2 * i + 1], a2, 2, NULL) < 0)
            return 1;
    }
    int rc = nodus_taskwait(n);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: taskwait: %s\n", nodus_strerror(rc));
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        cl_uint sy = 0, sz = 0;
        for (size_t e = 0; e < elems; e++)
            sy += x[i][e] * 5 + 7;
        for (size_t e = 0; e < elems; e++)
            sz += x[i][e] * 5 + 7 + sy;
        if (s[i] != sy || zs[i] != sz) itcl_fail("mixed pipeline result", (int)i);
    }
    printf("it_opencl: mixed: %zu OpenCL->CPU->OpenCL->CPU pipelines: %s\n", count,
           atomic_load(&itcl_errors) ? "WRONG" : "results match the CPU");
    for (size_t i = 0; i < count; i++) {
        free(x[i]);
        free(y[i]);
        free(z[i]);
    }
    free(x);
    free(y);
    free(z);
    free(s);
    free(zs);
    free(g);
    free(c);
    return 0;
}

/* ---- multi-version tasks ---- */

static int run_multiversion(nodus_t *n, nodus_task_attr_t *attr, size_t count)
{
    const size_t elems = 8192;
    cl_uint *v = itcl_vec(elems, 3), *ref = itcl_vec(elems, 3);
    vec_task_t *t = calloc(count, sizeof *t);
    nodus_task_attr_set_label(attr, "it_opencl.multiversion");
    for (size_t i = 0; i < count; i++) {
        t[i] = (vec_task_t){.op = OP_AFFINE,
                            .in0 = v,
                            .out = v,
                            .n = elems,
                            .a = 5,
                            .b = (cl_uint)i,
                            .ran_kind = -1};
        vec_task_t r = t[i]; /* copied before the body may run */
        r.in0 = r.out = ref;
        op_cpu(&r);
        if (itcl_submit(n, &t[i], attr, true) < 0) return 1;
    }
    int rc = nodus_taskwait(n);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: taskwait: %s\n", nodus_strerror(rc));
        return 1;
    }
    size_t on[3] = {0, 0, 0};
    for (size_t i = 0; i < count; i++) {
        if (t[i].ran_kind < 0 || t[i].ran_kind > 2)
            itcl_fail("a multi-version task did not run", (int)i);
        else
            on[t[i].ran_kind]++;
    }
    if (memcmp(v, ref, elems * 4) != 0) itcl_fail("multi-version result", 0);
    /* the daemon calibrates every offered kind (3 samples each) before it chooses */
    if (count >= 8 && (on[NODUS_DEV_CPU] == 0 || on[NODUS_DEV_OPENCL] == 0))
        itcl_fail("the daemon never tried one of the two implementations", 0);
    printf("it_opencl: multiversion: %zu tasks, %zu ran on the CPU, %zu on OpenCL: %s\n", count,
           on[NODUS_DEV_CPU], on[NODUS_DEV_OPENCL],
           atomic_load(&itcl_errors) ? "WRONG" : "results match the CPU");
    free(v);
    free(ref);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: it_opencl chain|diamond|mixed|multiversion|aware [ARGS]\n");
        return 2;
    }
    const char *mode = argv[1];
    nodus_t *n;
    nodus_task_attr_t *attr;
    itcl_remember_early_threads();
    int rc = itcl_open(&n, &attr);
    if (rc != 0) return rc;
    size_t a1 = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
    size_t a2 = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
    if (!strcmp(mode, "chain"))
        rc = run_chain(n, attr, a1 ? a1 : 4, a2 ? a2 : 50);
    else if (!strcmp(mode, "diamond"))
        rc = run_diamond(n, attr, a1 ? a1 : 40);
    else if (!strcmp(mode, "mixed"))
        rc = run_mixed(n, attr, a1 ? a1 : 30);
    else if (!strcmp(mode, "multiversion"))
        rc = run_multiversion(n, attr, a1 ? a1 : 60);
    else if (!strcmp(mode, "aware"))
        rc = itcl_run_aware(n, attr, argc - 1, argv + 1);
    else {
        fprintf(stderr, "it_opencl: unknown mode %s\n", mode);
        rc = 2;
    }
    nodus_task_attr_destroy(attr);
    clReleaseProgram(itcl_program);
    int crc = nodus_close(n);
    if (crc < 0) {
        fprintf(stderr, "it_opencl: close: %s\n", nodus_strerror(crc));
        rc = rc ? rc : 1;
    }
    if (rc == 0 && atomic_load(&itcl_errors)) rc = 1;
    return rc;
}
