/*
 * gpt2_ocl_ops.h: what gpt2_ocl.c (devices, arenas, kernel sets) and gpt2_ocl_ops.c (each op's
 * kernel arguments and launches) share. Private to gpt2_ocl; the public API is in gpt2_ops.h.
 */
#ifndef GPT2_OCL_OPS_H
#define GPT2_OCL_OPS_H

#include "gpt2_ops.h"

#include <nodus/opencl.h>

#include <pthread.h>
#include <stdbool.h>

#define GPT2_OCL_MAX_ARENAS 16

/* The kernels of gpt2_kernels.cl; gpt2_ocl_kernel_names (gpt2_ocl.c) has their names. */
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

/* Reports an error from a body (which cannot return one): the op's output is then wrong, and the
 * first few reports say why. Any thread. */
void gpt2_ocl_report(const char *what, int code);

/* The registered arena holding `p` and the element offset of `p` in it; NULL (an absent bias)
 * gives arena 0 at offset 0. -1 when no arena holds `p`. Any thread, after registration. */
int gpt2_ocl_find(const void *p, cl_ulong *offset);

/* Enqueues every kernel of `op` on `q` with the kernel set `set` of device `d` (the calling body
 * owns `set` until this returns). CL_SUCCESS or the first OpenCL error. */
cl_int gpt2_ocl_enqueue(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
                        const gpt2_op_t *op);

#endif
