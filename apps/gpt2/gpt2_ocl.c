/*
 * gpt2_ocl.c: the OpenCL implementation of the GPT-2 ops (gpt2_ops.h): builds the kernels of
 * gpt2_kernels.cl for every OpenCL device of the session, wraps the training code's arenas in
 * buffers, and inside an OpenCL task body enqueues one op on nodus_cl_queue() and returns.
 *
 * The kernels' arguments and launches, op by op, are in gpt2_ocl_ops.c.
 *
 * Memory: every arena gets one CL_MEM_USE_HOST_PTR buffer per device context, and an op pointer
 * becomes (that buffer, element offset) as two kernel arguments (gpt2_ocl_find). No sub-buffers:
 * their origin must be aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which op slices are not.
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
#include "gpt2_ocl_ops.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel source, generated from gpt2_kernels.cl by devices.cmake (NUL-terminated). */
extern const char gpt2_ocl_kernel_source[];

#define GPT2_OCL_MAX_DEVICES 8

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
void gpt2_ocl_report(const char *what, int code)
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

int gpt2_ocl_find(const void *p, cl_ulong *offset)
{
    int narenas = atomic_load_explicit(&gpt2_ocl_narenas, memory_order_acquire);
    *offset = 0;
    if (!p) return narenas > 0 ? 0 : -1;
    for (int i = 0; i < narenas; i++) {
        const char *c = p, *base = gpt2_ocl_arenas[i].base;
        if (c >= base && c < base + gpt2_ocl_arenas[i].bytes) {
            *offset = (cl_ulong)(c - base) / 4; /* float and int tensors alike */
            return i;
        }
    }
    return -1;
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
