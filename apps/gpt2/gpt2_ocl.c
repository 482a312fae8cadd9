/*
 * gpt2_ocl.c: the OpenCL implementation of the GPT-2 ops (gpt2_ops.h): builds the kernels of
 * gpt2_kernels.cl for every OpenCL device of the session, wraps the training code's arenas in
 * buffers, and inside an OpenCL task body enqueues one op on nodus_cl_queue() and returns.
 *
 * Memory: every arena gets one CL_MEM_USE_HOST_PTR buffer per device context, and an op pointer
 * becomes (that buffer, element offset) as two kernel arguments. No sub-buffers: their origin
 * must be aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which op slices are not.
 *
 * Coherence: on PoCL's CPU device a USE_HOST_PTR buffer of page-aligned memory *is* the host
 * memory, so kernels read and write the arena in place and no map/unmap or copy is enqueued. What
 * keeps host code and kernels apart is the task graph: every access to an arena, by a CPU task
 * or a device task, is declared, and the daemon releases a successor only after libnodus's marker
 * behind this op's kernels has reached CL_COMPLETE, so a CPU task never reads memory a kernel is
 * still writing, and a kernel never starts before the CPU writes it depends on have finished. A
 * discrete GPU would need explicit transfers here; this file targets devices that share host
 * memory (PoCL, integrated GPUs with zero-copy USE_HOST_PTR).
 *
 * Matmuls: a local-memory tiled SGEMM for GPUs, and on CPU devices (PoCL) two register-blocked
 * vector kernels without barriers, several times faster there (gpt2_kernels.cl says why).
 *
 * Threads: bodies of different tasks call gpt2_ocl_run() concurrently, and clSetKernelArg on a
 * shared cl_kernel is not thread-safe. Each device keeps a lock-protected free list of kernel sets;
 * a body takes a set, sets arguments, enqueues (the enqueue captures the arguments), and gives the
 * set back, so a set is only ever used by one thread at a time and there are at most as many sets
 * as concurrent bodies.
 */
#include "gpt2_ops.h"

#include <nodus/opencl.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel source, generated from gpt2_kernels.cl by devices.cmake (NUL-terminated). */
extern const char gpt2_ocl_kernel_source[];

#define GPT2_OCL_MAX_DEVICES 8
#define GPT2_OCL_MAX_ARENAS  16
#define GPT2_OCL_WG          64 /* work-group size of the 1-D kernels (fixed: see gpt2_kernels.cl) */
#define GPT2_OCL_ROW_WG      8  /* ... of those with one whole row per work-item */
#define GPT2_OCL_GEMM_T      64 /* GEMM tile of C per 16x16 work-group */
#define GPT2_OCL_GEMM_WG     16

/* The kernels; gpt2_ocl_kernel_names has their names in gpt2_kernels.cl. */
enum {
    K_ENCODER_FWD,
    K_ENCODER_BWD,
    K_LAYERNORM_FWD,
    K_LAYERNORM_BWD_INP,
    K_LAYERNORM_BWD_WB,
    K_GEMM,
    K_GEMM_NT,
    K_GEMM_BN,
    K_BIAS_GRAD,
    K_ATTN_PREATT,
    K_ATTN_SOFTMAX,
    K_ATTN_OUT,
    K_ATTN_DATT,
    K_ATTN_DPREATT,
    K_ATTN_DQ,
    K_ATTN_DKV,
    K_GELU_FWD,
    K_GELU_BWD,
    K_RESIDUAL_FWD,
    K_RESIDUAL_BWD,
    K_SOFTMAX_FWD,
    K_CROSSENTROPY_FWD,
    K_CROSSENTROPY_SOFTMAX_BWD,
    K_ADAMW,
    K_COUNT
};

/* Designated, so that the names cannot drift from the enum. */
static const char *const gpt2_ocl_kernel_names[K_COUNT] = {
    [K_ENCODER_FWD] = "gpt2_encoder_fwd",
    [K_ENCODER_BWD] = "gpt2_encoder_bwd",
    [K_LAYERNORM_FWD] = "gpt2_layernorm_fwd",
    [K_LAYERNORM_BWD_INP] = "gpt2_layernorm_bwd_inp",
    [K_LAYERNORM_BWD_WB] = "gpt2_layernorm_bwd_wb",
    [K_GEMM] = "gpt2_gemm",
    [K_GEMM_NT] = "gpt2_gemm_nt",
    [K_GEMM_BN] = "gpt2_gemm_bn",
    [K_BIAS_GRAD] = "gpt2_bias_grad",
    [K_ATTN_PREATT] = "gpt2_attn_preatt",
    [K_ATTN_SOFTMAX] = "gpt2_attn_softmax",
    [K_ATTN_OUT] = "gpt2_attn_out",
    [K_ATTN_DATT] = "gpt2_attn_datt",
    [K_ATTN_DPREATT] = "gpt2_attn_dpreatt",
    [K_ATTN_DQ] = "gpt2_attn_dq",
    [K_ATTN_DKV] = "gpt2_attn_dkv",
    [K_GELU_FWD] = "gpt2_gelu_fwd",
    [K_GELU_BWD] = "gpt2_gelu_bwd",
    [K_RESIDUAL_FWD] = "gpt2_residual_fwd",
    [K_RESIDUAL_BWD] = "gpt2_residual_bwd",
    [K_SOFTMAX_FWD] = "gpt2_softmax_fwd",
    [K_CROSSENTROPY_FWD] = "gpt2_crossentropy_fwd",
    [K_CROSSENTROPY_SOFTMAX_BWD] = "gpt2_crossentropy_softmax_bwd",
    [K_ADAMW] = "gpt2_adamw",
};

/* One instance of every kernel, used by one body at a time. */
typedef struct gpt2_ocl_kset {
    cl_kernel k[K_COUNT];
    struct gpt2_ocl_kset *next;
} gpt2_ocl_kset_t;

/* One OpenCL device of the session: its context, program, arena buffers and kernel sets. */
typedef struct {
    cl_context context; /* borrowed from libnodus */
    cl_device_id device;
    cl_program program;
    bool gemm_cpu; /* register-blocked GEMMs (CPU devices) instead of the local-memory tiles */
    cl_mem arena_buf[GPT2_OCL_MAX_ARENAS]; /* USE_HOST_PTR buffer of each registered arena */
    pthread_mutex_t lock;                  /* guards free_sets */
    gpt2_ocl_kset_t *free_sets;
} gpt2_ocl_dev_t;

typedef struct {
    char *base;
    size_t bytes;
} gpt2_ocl_arena_t;

/* Written by init/register/fini (program start-up and end, before and after every op);
 * gpt2_ocl_run only reads. The arena count is published with release ordering after the
 * arena and its buffers are complete. */
static gpt2_ocl_dev_t gpt2_ocl_devs[GPT2_OCL_MAX_DEVICES];
static int gpt2_ocl_ndevs;
static gpt2_ocl_arena_t gpt2_ocl_arenas[GPT2_OCL_MAX_ARENAS];
static atomic_int gpt2_ocl_narenas;
static pthread_mutex_t gpt2_ocl_register_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int gpt2_ocl_error_count;

/* Reports an error from a body (which cannot return one); the op's output is then wrong and the
 * first few reports say why. */
static void gpt2_ocl_report(const char *what, int code)
{
    if (atomic_fetch_add(&gpt2_ocl_error_count, 1) < 10)
        fprintf(stderr, "gpt2_ocl: %s (%d)\n", what, code);
}

static int gpt2_ocl_make_buffer(gpt2_ocl_dev_t *d, int a)
{
    /* A host pointer less aligned than the device's base address alignment may make the runtime
     * keep a separate copy (PoCL does), and then kernels would not write the arena in place:
     * refuse it (the training code allocates page-aligned arenas). */
    cl_uint align_bits = 0;
    clGetDeviceInfo(d->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL);
    if (align_bits >= 8 && (uintptr_t)gpt2_ocl_arenas[a].base % (align_bits / 8) != 0) {
        gpt2_ocl_report("an arena less aligned than CL_DEVICE_MEM_BASE_ADDR_ALIGN", align_bits);
        return -1;
    }
    cl_int err = CL_SUCCESS;
    d->arena_buf[a] = clCreateBuffer(d->context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR,
                                     gpt2_ocl_arenas[a].bytes, gpt2_ocl_arenas[a].base, &err);
    if (!d->arena_buf[a]) {
        gpt2_ocl_report("clCreateBuffer(USE_HOST_PTR) for an arena", err);
        return -1;
    }
    return 0;
}

static int gpt2_ocl_build(gpt2_ocl_dev_t *d)
{
    cl_int err = CL_SUCCESS;
    const char *src = gpt2_ocl_kernel_source;
    d->program = clCreateProgramWithSource(d->context, 1, &src, NULL, &err);
    if (!d->program) {
        gpt2_ocl_report("clCreateProgramWithSource", err);
        return -1;
    }
    err = clBuildProgram(d->program, 1, &d->device, "", NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t len = 0;
        clGetProgramBuildInfo(d->program, d->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
        char *log = malloc(len + 1);
        if (log && clGetProgramBuildInfo(d->program, d->device, CL_PROGRAM_BUILD_LOG, len, log,
                                         NULL) == CL_SUCCESS) {
            log[len] = '\0';
            fprintf(stderr, "gpt2_ocl: kernel build log:\n%s\n", log);
        }
        free(log);
        gpt2_ocl_report("clBuildProgram", err);
        return -1;
    }
    return 0;
}

int gpt2_ocl_init(struct nodus *n)
{
    int count = nodus_num_devices(n);
    for (int i = 0; i < count && gpt2_ocl_ndevs < GPT2_OCL_MAX_DEVICES; i++) {
        nodus_device_kind_t kind;
        char name[64];
        if (nodus_device_info(n, i, &kind, name, sizeof name) != 0 || kind != NODUS_DEV_OPENCL)
            continue;
        gpt2_ocl_dev_t *d = &gpt2_ocl_devs[gpt2_ocl_ndevs];
        memset(d, 0, sizeof *d);
        if (nodus_cl_device_context(n, i, &d->context, &d->device) != 0) continue;
        if (gpt2_ocl_build(d) != 0) {
            if (d->program) clReleaseProgram(d->program);
            continue;
        }
        /* the tiled GEMM is for GPUs; CPU devices get the vector kernels (gpt2_kernels.cl).
         * GPT2_OCL_GEMM=tiled forces the tiled one everywhere (the test runs both). */
        cl_device_type type = 0;
        clGetDeviceInfo(d->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
        const char *gemm = getenv("GPT2_OCL_GEMM");
        d->gemm_cpu = (type & CL_DEVICE_TYPE_CPU) && !(gemm && !strcmp(gemm, "tiled"));
        pthread_mutex_init(&d->lock, NULL);
        /* arenas registered before init get their buffers now */
        int narenas = atomic_load(&gpt2_ocl_narenas);
        for (int a = 0; a < narenas; a++)
            if (gpt2_ocl_make_buffer(d, a) != 0) return -1;
        gpt2_ocl_ndevs++;
    }
    return gpt2_ocl_ndevs > 0 ? 0 : -1;
}

int gpt2_ocl_register(void *base, size_t bytes)
{
    if (!base || bytes == 0 || ((uintptr_t)base & 3) != 0) return -1;
    pthread_mutex_lock(&gpt2_ocl_register_lock);
    int a = atomic_load(&gpt2_ocl_narenas);
    int rc = 0;
    if (a == GPT2_OCL_MAX_ARENAS) {
        rc = -1;
    } else {
        gpt2_ocl_arenas[a] = (gpt2_ocl_arena_t){base, bytes};
        int made = 0;
        while (made < gpt2_ocl_ndevs && rc == 0)
            if ((rc = gpt2_ocl_make_buffer(&gpt2_ocl_devs[made], a)) == 0) made++;
        if (rc == 0) {
            atomic_store_explicit(&gpt2_ocl_narenas, a + 1, memory_order_release);
        } else {
            while (made-- > 0) { /* not registered: no device keeps a buffer for it */
                clReleaseMemObject(gpt2_ocl_devs[made].arena_buf[a]);
                gpt2_ocl_devs[made].arena_buf[a] = NULL;
            }
        }
    }
    pthread_mutex_unlock(&gpt2_ocl_register_lock);
    return rc;
}

void gpt2_ocl_fini(void)
{
    int narenas = atomic_load(&gpt2_ocl_narenas);
    for (int i = 0; i < gpt2_ocl_ndevs; i++) {
        gpt2_ocl_dev_t *d = &gpt2_ocl_devs[i];
        while (d->free_sets) {
            gpt2_ocl_kset_t *s = d->free_sets;
            d->free_sets = s->next;
            for (int k = 0; k < K_COUNT; k++)
                clReleaseKernel(s->k[k]);
            free(s);
        }
        for (int a = 0; a < narenas; a++)
            if (d->arena_buf[a]) clReleaseMemObject(d->arena_buf[a]);
        clReleaseProgram(d->program);
        pthread_mutex_destroy(&d->lock);
        memset(d, 0, sizeof *d);
    }
    gpt2_ocl_ndevs = 0;
    atomic_store(&gpt2_ocl_narenas, 0);
}

/* ---- inside a body ---- */

/* Kernel arguments under construction: the first error sticks and skips the rest. */
typedef struct {
    const gpt2_ocl_dev_t *dev;
    cl_kernel kernel;
    cl_uint index;
    cl_int err;
} gpt2_ocl_args_t;

static void gpt2_ocl_arg(gpt2_ocl_args_t *a, size_t size, const void *value)
{
    if (a->err != CL_SUCCESS) return;
    a->err = clSetKernelArg(a->kernel, a->index++, size, value);
}

/* A tensor pointer as (arena buffer, element offset). NULL (an absent bias) becomes the first
 * arena at offset 0: a valid argument the kernel does not read. */
static void gpt2_ocl_arg_ptr(gpt2_ocl_args_t *a, const void *p)
{
    if (a->err != CL_SUCCESS) return;
    int narenas = atomic_load_explicit(&gpt2_ocl_narenas, memory_order_acquire);
    int found = -1;
    cl_ulong off = 0;
    if (!p) {
        found = narenas > 0 ? 0 : -1;
    } else {
        for (int i = 0; i < narenas; i++) {
            const char *c = p, *base = gpt2_ocl_arenas[i].base;
            if (c >= base && c < base + gpt2_ocl_arenas[i].bytes) {
                found = i;
                off = (cl_ulong)(c - base) / 4; /* float and int tensors alike */
                break;
            }
        }
    }
    if (found < 0) {
        gpt2_ocl_report("a tensor outside every registered arena", 0);
        a->err = CL_INVALID_MEM_OBJECT;
        return;
    }
    gpt2_ocl_arg(a, sizeof(cl_mem), &a->dev->arena_buf[found]);
    gpt2_ocl_arg(a, sizeof off, &off);
}

static void gpt2_ocl_arg_int(gpt2_ocl_args_t *a, int v)
{
    cl_int x = v;
    gpt2_ocl_arg(a, sizeof x, &x);
}

static void gpt2_ocl_arg_float(gpt2_ocl_args_t *a, float v)
{
    cl_float x = v;
    gpt2_ocl_arg(a, sizeof x, &x);
}

/* Starts the arguments of kernel `k` of set `set`. */
static gpt2_ocl_args_t gpt2_ocl_args(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, int k)
{
    return (gpt2_ocl_args_t){d, set->k[k], 0, CL_SUCCESS};
}

/* Enqueues a 1-D launch over n work-items in work-groups of `wg` (nothing when n <= 0). */
static void gpt2_ocl_launch_wg(gpt2_ocl_args_t *a, cl_command_queue q, long n, size_t wg)
{
    if (a->err != CL_SUCCESS || n <= 0) return;
    size_t global = ((size_t)n + wg - 1) / wg * wg;
    a->err = clEnqueueNDRangeKernel(q, a->kernel, 1, NULL, &global, &wg, 0, NULL, NULL);
}

static void gpt2_ocl_launch(gpt2_ocl_args_t *a, cl_command_queue q, long n)
{
    gpt2_ocl_launch_wg(a, q, n, GPT2_OCL_WG);
}

/* Kernels whose work-item loops over a whole row (layernorm, softmax): small work-groups, so that
 * a slice of a few dozen rows still spreads over the device's compute units (a CPU device runs
 * one work-group per thread). */
static void gpt2_ocl_launch_rows(gpt2_ocl_args_t *a, cl_command_queue q, long rows)
{
    gpt2_ocl_launch_wg(a, q, rows, GPT2_OCL_ROW_WG);
}

/* C[m*ldc+n] (+)= bias[n] + sum_k A(m,k) B(k,n), A(m,k) = A[m*a_sm + k*a_sk], B(k,n) =
 * B[k*b_sk + n*b_sn] (gpt2_gemm in gpt2_kernels.cl). */
typedef struct {
    int M, N, K;
    const float *A;
    int a_sm, a_sk;
    const float *B;
    int b_sk, b_sn;
    float *C;
    int ldc;
    bool accumulate;
    const float *bias;
} gpt2_ocl_gemm_t;

/* The CPU GEMMs (gpt2_gemm_nt, gpt2_gemm_bn): one work-item per register block. */
static cl_int gpt2_ocl_gemm_cpu(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                                const gpt2_ocl_gemm_t *g)
{
    bool nt = g->a_sk == 1 && g->b_sk == 1;
    gpt2_ocl_args_t a = gpt2_ocl_args(d, set, nt ? K_GEMM_NT : K_GEMM_BN);
    gpt2_ocl_arg_int(&a, g->M);
    gpt2_ocl_arg_int(&a, g->N);
    gpt2_ocl_arg_int(&a, g->K);
    gpt2_ocl_arg_ptr(&a, g->A);
    gpt2_ocl_arg_int(&a, g->a_sm);
    if (!nt) gpt2_ocl_arg_int(&a, g->a_sk);
    gpt2_ocl_arg_ptr(&a, g->B);
    gpt2_ocl_arg_int(&a, nt ? g->b_sn : g->b_sk);
    gpt2_ocl_arg_ptr(&a, g->C);
    gpt2_ocl_arg_int(&a, g->ldc);
    gpt2_ocl_arg_int(&a, g->accumulate);
    if (nt) {
        gpt2_ocl_arg_ptr(&a, g->bias);
        gpt2_ocl_arg_int(&a, g->bias != NULL);
    }
    if (a.err != CL_SUCCESS) return a.err;
    size_t local[2] = {1, 1};
    size_t global[2] = {nt ? (size_t)(g->M + 3) / 4 : (size_t)(g->N + 15) / 16,
                        nt ? (size_t)(g->N + 3) / 4 : (size_t)(g->M + 7) / 8};
    return clEnqueueNDRangeKernel(q, a.kernel, 2, NULL, global, local, 0, NULL, NULL);
}

static cl_int gpt2_ocl_gemm(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                            const gpt2_ocl_gemm_t *g)
{
    if (g->M <= 0 || g->N <= 0) return CL_SUCCESS;
    /* the CPU kernels cover A·B^T with both along k, and any A with B along n (no bias) */
    if (d->gemm_cpu && ((g->a_sk == 1 && g->b_sk == 1) || (g->b_sn == 1 && !g->bias)))
        return gpt2_ocl_gemm_cpu(d, set, q, g);
    gpt2_ocl_args_t a = gpt2_ocl_args(d, set, K_GEMM);
    gpt2_ocl_arg_int(&a, g->M);
    gpt2_ocl_arg_int(&a, g->N);
    gpt2_ocl_arg_int(&a, g->K);
    gpt2_ocl_arg_ptr(&a, g->A);
    gpt2_ocl_arg_int(&a, g->a_sm);
    gpt2_ocl_arg_int(&a, g->a_sk);
    gpt2_ocl_arg_ptr(&a, g->B);
    gpt2_ocl_arg_int(&a, g->b_sk);
    gpt2_ocl_arg_int(&a, g->b_sn);
    gpt2_ocl_arg_ptr(&a, g->C);
    gpt2_ocl_arg_int(&a, g->ldc);
    gpt2_ocl_arg_int(&a, g->accumulate);
    gpt2_ocl_arg_ptr(&a, g->bias);
    gpt2_ocl_arg_int(&a, g->bias != NULL);
    if (a.err != CL_SUCCESS) return a.err;
    size_t local[2] = {GPT2_OCL_GEMM_WG, GPT2_OCL_GEMM_WG};
    size_t global[2] = {
        (size_t)(g->N + GPT2_OCL_GEMM_T - 1) / GPT2_OCL_GEMM_T * GPT2_OCL_GEMM_WG,
        (size_t)(g->M + GPT2_OCL_GEMM_T - 1) / GPT2_OCL_GEMM_T * GPT2_OCL_GEMM_WG,
    };
    return clEnqueueNDRangeKernel(q, a.kernel, 2, NULL, global, local, 0, NULL, NULL);
}

static cl_int gpt2_ocl_matmul(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                              const gpt2_op_t *op)
{
    int rows = op->bt1 - op->bt0, C = op->C, OC = op->OC;
    switch (op->kind) {
    case GPT2_OP_MATMUL_FWD: {
        /* out[bt, oc] = bias[oc] + inp[bt, :] . weight[oc, :] */
        const float *bias = op->u.matmul_fwd.bias;
        gpt2_ocl_gemm_t g = {
            .M = rows,
            .N = op->oc1 - op->oc0,
            .K = C,
            .A = op->u.matmul_fwd.inp + (size_t)op->bt0 * C,
            .a_sm = C,
            .a_sk = 1,
            .B = op->u.matmul_fwd.weight + (size_t)op->oc0 * C,
            .b_sk = 1,
            .b_sn = C,
            .C = op->u.matmul_fwd.out + (size_t)op->bt0 * OC + op->oc0,
            .ldc = OC,
            .accumulate = false,
            .bias = bias ? bias + op->oc0 : NULL,
        };
        return gpt2_ocl_gemm(d, set, q, &g);
    }
    case GPT2_OP_MATMUL_BWD_INP: {
        /* dinp[bt, c] += sum_oc dout[bt, oc] * weight[oc, c] */
        gpt2_ocl_gemm_t g = {
            .M = rows,
            .N = C,
            .K = OC,
            .A = op->u.matmul_bwd_inp.dout + (size_t)op->bt0 * OC,
            .a_sm = OC,
            .a_sk = 1,
            .B = op->u.matmul_bwd_inp.weight,
            .b_sk = C,
            .b_sn = 1,
            .C = op->u.matmul_bwd_inp.dinp + (size_t)op->bt0 * C,
            .ldc = C,
            .accumulate = true,
            .bias = NULL,
        };
        return gpt2_ocl_gemm(d, set, q, &g);
    }
    default: { /* GPT2_OP_MATMUL_BWD_WEIGHT */
        /* dweight[oc, c] += sum_bt dout[bt, oc] * inp[bt, c]: A is dout transposed */
        int noc = op->oc1 - op->oc0;
        gpt2_ocl_gemm_t g = {
            .M = noc,
            .N = C,
            .K = rows,
            .A = op->u.matmul_bwd_weight.dout + (size_t)op->bt0 * OC + op->oc0,
            .a_sm = 1,
            .a_sk = OC,
            .B = op->u.matmul_bwd_weight.inp + (size_t)op->bt0 * C,
            .b_sk = C,
            .b_sn = 1,
            .C = op->u.matmul_bwd_weight.dweight + (size_t)op->oc0 * C,
            .ldc = C,
            .accumulate = true,
            .bias = NULL,
        };
        cl_int err = gpt2_ocl_gemm(d, set, q, &g);
        if (err != CL_SUCCESS || !op->u.matmul_bwd_weight.dbias) return err;
        gpt2_ocl_args_t a = gpt2_ocl_args(d, set, K_BIAS_GRAD);
        gpt2_ocl_arg_ptr(&a, op->u.matmul_bwd_weight.dbias);
        gpt2_ocl_arg_ptr(&a, op->u.matmul_bwd_weight.dout);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, op->bt1);
        gpt2_ocl_arg_int(&a, op->oc0);
        gpt2_ocl_arg_int(&a, noc);
        gpt2_ocl_arg_int(&a, OC);
        gpt2_ocl_launch(&a, q, noc);
        return a.err;
    }
    }
}

/* The common tail of the attention kernels' arguments. */
static void gpt2_ocl_arg_heads(gpt2_ocl_args_t *a, const gpt2_op_t *op, bool with_c)
{
    gpt2_ocl_arg_int(a, op->bt0);
    gpt2_ocl_arg_int(a, op->bt1 - op->bt0);
    gpt2_ocl_arg_int(a, op->h0);
    gpt2_ocl_arg_int(a, op->h1 - op->h0);
    gpt2_ocl_arg_int(a, op->T);
    if (with_c) gpt2_ocl_arg_int(a, op->C);
    gpt2_ocl_arg_int(a, op->NH);
}

static cl_int gpt2_ocl_attention(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                                 const gpt2_op_t *op)
{
    long rows = op->bt1 - op->bt0, nh = op->h1 - op->h0, T = op->T, hs = op->C / op->NH;
    gpt2_ocl_args_t a;
    if (op->kind == GPT2_OP_ATTENTION_FWD) {
        a = gpt2_ocl_args(d, set, K_ATTN_PREATT);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.preatt);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.inp);
        gpt2_ocl_arg_heads(&a, op, true);
        gpt2_ocl_launch(&a, q, rows * nh * T);
        if (a.err != CL_SUCCESS) return a.err;
        a = gpt2_ocl_args(d, set, K_ATTN_SOFTMAX);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.att);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.preatt);
        gpt2_ocl_arg_heads(&a, op, false);
        gpt2_ocl_launch_rows(&a, q, rows * nh);
        if (a.err != CL_SUCCESS) return a.err;
        a = gpt2_ocl_args(d, set, K_ATTN_OUT);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.out);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.att);
        gpt2_ocl_arg_ptr(&a, op->u.attention_fwd.inp);
        gpt2_ocl_arg_heads(&a, op, true);
        gpt2_ocl_launch(&a, q, rows * nh * hs);
        return a.err;
    }
    /* backward: datt, then dpreatt, then dq and dk/dv (in-order queue: each sees the last) */
    a = gpt2_ocl_args(d, set, K_ATTN_DATT);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.datt);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dout);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.inp);
    gpt2_ocl_arg_heads(&a, op, true);
    gpt2_ocl_launch(&a, q, rows * nh * T);
    if (a.err != CL_SUCCESS) return a.err;
    a = gpt2_ocl_args(d, set, K_ATTN_DPREATT);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dpreatt);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.att);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.datt);
    gpt2_ocl_arg_heads(&a, op, false);
    gpt2_ocl_launch_rows(&a, q, rows * nh);
    if (a.err != CL_SUCCESS) return a.err;
    a = gpt2_ocl_args(d, set, K_ATTN_DQ);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dinp);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dpreatt);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.inp);
    gpt2_ocl_arg_heads(&a, op, true);
    gpt2_ocl_launch(&a, q, rows * nh * hs);
    if (a.err != CL_SUCCESS) return a.err;
    a = gpt2_ocl_args(d, set, K_ATTN_DKV);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dinp);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dpreatt);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.att);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.dout);
    gpt2_ocl_arg_ptr(&a, op->u.attention_bwd.inp);
    gpt2_ocl_arg_heads(&a, op, true);
    gpt2_ocl_launch(&a, q, (op->bt1 - (long)(op->bt0 / op->T) * T) * nh * hs);
    return a.err;
}

static cl_int gpt2_ocl_layernorm(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                                 const gpt2_op_t *op)
{
    int rows = op->bt1 - op->bt0;
    gpt2_ocl_args_t a;
    if (op->kind == GPT2_OP_LAYERNORM_FWD) {
        a = gpt2_ocl_args(d, set, K_LAYERNORM_FWD);
        gpt2_ocl_arg_ptr(&a, op->u.layernorm_fwd.out);
        gpt2_ocl_arg_ptr(&a, op->u.layernorm_fwd.mean);
        gpt2_ocl_arg_ptr(&a, op->u.layernorm_fwd.rstd);
        gpt2_ocl_arg_ptr(&a, op->u.layernorm_fwd.inp);
        gpt2_ocl_arg_ptr(&a, op->u.layernorm_fwd.weight);
        gpt2_ocl_arg_ptr(&a, op->u.layernorm_fwd.bias);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, rows);
        gpt2_ocl_arg_int(&a, op->C);
        gpt2_ocl_launch_rows(&a, q, rows);
        return a.err;
    }
    a = gpt2_ocl_args(d, set, K_LAYERNORM_BWD_INP);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.dinp);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.dout);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.inp);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.weight);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.mean);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.rstd);
    gpt2_ocl_arg_int(&a, op->bt0);
    gpt2_ocl_arg_int(&a, rows);
    gpt2_ocl_arg_int(&a, op->C);
    gpt2_ocl_launch_rows(&a, q, rows);
    if (a.err != CL_SUCCESS || rows <= 0) return a.err;
    a = gpt2_ocl_args(d, set, K_LAYERNORM_BWD_WB);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.dweight);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.dbias);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.dout);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.inp);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.mean);
    gpt2_ocl_arg_ptr(&a, op->u.layernorm_bwd.rstd);
    gpt2_ocl_arg_int(&a, op->bt0);
    gpt2_ocl_arg_int(&a, op->bt1);
    gpt2_ocl_arg_int(&a, op->C);
    gpt2_ocl_launch(&a, q, op->C);
    return a.err;
}

/* Element-wise ops: the rows [bt0, bt1) of a [B*T, width] tensor are n consecutive elements. */
static cl_int gpt2_ocl_elementwise(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set,
                                   cl_command_queue q, const gpt2_op_t *op)
{
    size_t first = (size_t)op->bt0 * op->width;
    long n = (long)(op->bt1 - op->bt0) * op->width;
    gpt2_ocl_args_t a;
    switch (op->kind) {
    case GPT2_OP_GELU_FWD:
        a = gpt2_ocl_args(d, set, K_GELU_FWD);
        gpt2_ocl_arg_ptr(&a, op->u.gelu_fwd.out + first);
        gpt2_ocl_arg_ptr(&a, op->u.gelu_fwd.inp + first);
        break;
    case GPT2_OP_GELU_BWD:
        a = gpt2_ocl_args(d, set, K_GELU_BWD);
        gpt2_ocl_arg_ptr(&a, op->u.gelu_bwd.dinp + first);
        gpt2_ocl_arg_ptr(&a, op->u.gelu_bwd.inp + first);
        gpt2_ocl_arg_ptr(&a, op->u.gelu_bwd.dout + first);
        break;
    case GPT2_OP_RESIDUAL_FWD:
        a = gpt2_ocl_args(d, set, K_RESIDUAL_FWD);
        gpt2_ocl_arg_ptr(&a, op->u.residual_fwd.out + first);
        gpt2_ocl_arg_ptr(&a, op->u.residual_fwd.inp1 + first);
        gpt2_ocl_arg_ptr(&a, op->u.residual_fwd.inp2 + first);
        break;
    default: /* GPT2_OP_RESIDUAL_BWD */
        a = gpt2_ocl_args(d, set, K_RESIDUAL_BWD);
        gpt2_ocl_arg_ptr(&a, op->u.residual_bwd.dinp1 + first);
        gpt2_ocl_arg_ptr(&a, op->u.residual_bwd.dinp2 + first);
        gpt2_ocl_arg_ptr(&a, op->u.residual_bwd.dout + first);
        break;
    }
    gpt2_ocl_arg_int(&a, (int)n);
    gpt2_ocl_launch(&a, q, n);
    return a.err;
}

static cl_int gpt2_ocl_adamw(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                             const gpt2_op_t *op)
{
    /* llm.c's bias corrections, computed once here in float as on the CPU */
    float bc1 = 1.0f - powf(op->u.adamw.beta1, (float)op->u.adamw.step);
    float bc2 = 1.0f - powf(op->u.adamw.beta2, (float)op->u.adamw.step);
    /* chunks keep the kernel's int index in range whatever the parameter count */
    const size_t chunk = (size_t)1 << 30;
    for (size_t i0 = op->u.adamw.i0; i0 < op->u.adamw.i1; i0 += chunk) {
        size_t n = op->u.adamw.i1 - i0 < chunk ? op->u.adamw.i1 - i0 : chunk;
        gpt2_ocl_args_t a = gpt2_ocl_args(d, set, K_ADAMW);
        gpt2_ocl_arg_ptr(&a, op->u.adamw.params + i0);
        gpt2_ocl_arg_ptr(&a, op->u.adamw.m + i0);
        gpt2_ocl_arg_ptr(&a, op->u.adamw.v + i0);
        gpt2_ocl_arg_ptr(&a, op->u.adamw.grads + i0);
        gpt2_ocl_arg_int(&a, (int)n);
        gpt2_ocl_arg_float(&a, op->u.adamw.lr);
        gpt2_ocl_arg_float(&a, op->u.adamw.beta1);
        gpt2_ocl_arg_float(&a, op->u.adamw.beta2);
        gpt2_ocl_arg_float(&a, op->u.adamw.eps);
        gpt2_ocl_arg_float(&a, op->u.adamw.weight_decay);
        gpt2_ocl_arg_float(&a, bc1);
        gpt2_ocl_arg_float(&a, bc2);
        gpt2_ocl_launch(&a, q, (long)n);
        if (a.err != CL_SUCCESS) return a.err;
    }
    return CL_SUCCESS;
}

/* Enqueues every kernel of `op` with the kernel set `set` of device `d`. */
static cl_int gpt2_ocl_enqueue(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                               const gpt2_op_t *op)
{
    int rows = op->bt1 - op->bt0;
    gpt2_ocl_args_t a;
    switch (op->kind) {
    case GPT2_OP_ENCODER_FWD:
        a = gpt2_ocl_args(d, set, K_ENCODER_FWD);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_fwd.out);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_fwd.tokens);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_fwd.wte);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_fwd.wpe);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, rows);
        gpt2_ocl_arg_int(&a, op->T);
        gpt2_ocl_arg_int(&a, op->C);
        gpt2_ocl_launch(&a, q, (long)rows * op->C);
        return a.err;
    case GPT2_OP_ENCODER_BWD:
        a = gpt2_ocl_args(d, set, K_ENCODER_BWD);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_bwd.dwte);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_bwd.dwpe);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_bwd.dout);
        gpt2_ocl_arg_ptr(&a, op->u.encoder_bwd.tokens);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, op->bt1);
        gpt2_ocl_arg_int(&a, op->oc0);
        gpt2_ocl_arg_int(&a, op->oc1 - op->oc0);
        gpt2_ocl_arg_int(&a, op->T);
        gpt2_ocl_arg_int(&a, op->C);
        gpt2_ocl_launch(&a, q, op->oc1 - op->oc0);
        return a.err;
    case GPT2_OP_LAYERNORM_FWD:
    case GPT2_OP_LAYERNORM_BWD:
        return gpt2_ocl_layernorm(d, set, q, op);
    case GPT2_OP_MATMUL_FWD:
    case GPT2_OP_MATMUL_BWD_INP:
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        return gpt2_ocl_matmul(d, set, q, op);
    case GPT2_OP_ATTENTION_FWD:
    case GPT2_OP_ATTENTION_BWD:
        return gpt2_ocl_attention(d, set, q, op);
    case GPT2_OP_GELU_FWD:
    case GPT2_OP_GELU_BWD:
    case GPT2_OP_RESIDUAL_FWD:
    case GPT2_OP_RESIDUAL_BWD:
        return gpt2_ocl_elementwise(d, set, q, op);
    case GPT2_OP_SOFTMAX_FWD:
        a = gpt2_ocl_args(d, set, K_SOFTMAX_FWD);
        gpt2_ocl_arg_ptr(&a, op->u.softmax_fwd.probs);
        gpt2_ocl_arg_ptr(&a, op->u.softmax_fwd.logits);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, rows);
        gpt2_ocl_arg_int(&a, op->V);
        gpt2_ocl_arg_int(&a, op->Vp);
        gpt2_ocl_launch_rows(&a, q, rows);
        return a.err;
    case GPT2_OP_CROSSENTROPY_FWD:
        a = gpt2_ocl_args(d, set, K_CROSSENTROPY_FWD);
        gpt2_ocl_arg_ptr(&a, op->u.crossentropy_fwd.losses);
        gpt2_ocl_arg_ptr(&a, op->u.crossentropy_fwd.probs);
        gpt2_ocl_arg_ptr(&a, op->u.crossentropy_fwd.targets);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, rows);
        gpt2_ocl_arg_int(&a, op->Vp);
        gpt2_ocl_launch(&a, q, rows);
        return a.err;
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        a = gpt2_ocl_args(d, set, K_CROSSENTROPY_SOFTMAX_BWD);
        gpt2_ocl_arg_ptr(&a, op->u.crossentropy_softmax_bwd.dlogits);
        gpt2_ocl_arg_ptr(&a, op->u.crossentropy_softmax_bwd.probs);
        gpt2_ocl_arg_ptr(&a, op->u.crossentropy_softmax_bwd.targets);
        gpt2_ocl_arg_float(&a, op->u.crossentropy_softmax_bwd.dloss);
        gpt2_ocl_arg_int(&a, op->bt0);
        gpt2_ocl_arg_int(&a, rows);
        gpt2_ocl_arg_int(&a, op->V);
        gpt2_ocl_arg_int(&a, op->Vp);
        gpt2_ocl_launch(&a, q, (long)rows * op->V);
        return a.err;
    case GPT2_OP_ADAMW:
        return gpt2_ocl_adamw(d, set, q, op);
    default:
        return CL_INVALID_VALUE;
    }
}

/* Takes a kernel set of `d` for this body (creating one when all are in use); NULL on error. */
static gpt2_ocl_kset_t *gpt2_ocl_take_set(gpt2_ocl_dev_t *d)
{
    pthread_mutex_lock(&d->lock);
    gpt2_ocl_kset_t *set = d->free_sets;
    if (set) d->free_sets = set->next;
    pthread_mutex_unlock(&d->lock);
    if (set) return set;
    set = calloc(1, sizeof *set);
    if (!set) return NULL;
    for (int k = 0; k < K_COUNT; k++) {
        cl_int err = CL_SUCCESS;
        set->k[k] = clCreateKernel(d->program, gpt2_ocl_kernel_names[k], &err);
        if (!set->k[k]) {
            gpt2_ocl_report(gpt2_ocl_kernel_names[k], err);
            while (k-- > 0)
                clReleaseKernel(set->k[k]);
            free(set);
            return NULL;
        }
    }
    return set;
}

static void gpt2_ocl_give_set(gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set)
{
    pthread_mutex_lock(&d->lock);
    set->next = d->free_sets;
    d->free_sets = set;
    pthread_mutex_unlock(&d->lock);
}

void gpt2_ocl_run(const gpt2_op_t *op)
{
    cl_command_queue q = nodus_cl_queue();
    cl_device_id device = nodus_cl_device();
    cl_context context = nodus_cl_context();
    gpt2_ocl_dev_t *d = NULL;
    for (int i = 0; i < gpt2_ocl_ndevs && !d; i++)
        if (gpt2_ocl_devs[i].device == device && gpt2_ocl_devs[i].context == context)
            d = &gpt2_ocl_devs[i];
    if (!q || !d) {
        gpt2_ocl_report("gpt2_ocl_run outside an OpenCL body of an initialised device", 0);
        return;
    }
    if (op->bt1 < op->bt0 || op->kind < 0 || op->kind >= GPT2_OP_COUNT) {
        gpt2_ocl_report("an op with an invalid kind or row range", (int)op->kind);
        return;
    }
    gpt2_ocl_kset_t *set = gpt2_ocl_take_set(d);
    if (!set) return;
    cl_int err = gpt2_ocl_enqueue(d, set, q, op);
    gpt2_ocl_give_set(d, set);
    if (err != CL_SUCCESS) {
        char what[64];
        snprintf(what, sizeof what, "enqueueing op kind %d", (int)op->kind);
        gpt2_ocl_report(what, err);
    }
}
