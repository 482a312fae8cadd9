/*
 * gpt2_ocl_ops.c: the OpenCL launches of each GPT-2 op: which kernels of gpt2_kernels.cl, with
 * which arguments (every tensor as its arena buffer and element offset), over which work-items.
 * Called by gpt2_ocl_run (gpt2_ocl.c) inside an OpenCL task body, with a kernel set that body
 * owns; nothing here waits for the device.
 */
#include "gpt2_ocl_ops.h"

#include <math.h>
#include <stdio.h>

#define GPT2_OCL_WG      64 /* work-group size of the 1-D kernels (fixed: see gpt2_kernels.cl) */
#define GPT2_OCL_ROW_WG  8  /* ... of those with one whole row per work-item */
#define GPT2_OCL_GEMM_T  64 /* tiled GEMM: tile of C per 16x16 work-group */
#define GPT2_OCL_GEMM_WG 16

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

/* A tensor pointer as (arena buffer, element offset): two arguments. */
static void gpt2_ocl_arg_ptr(gpt2_ocl_args_t *a, const void *p)
{
    if (a->err != CL_SUCCESS) return;
    cl_ulong off = 0;
    int arena = gpt2_ocl_find(p, &off);
    if (arena < 0) {
        gpt2_ocl_report("a tensor outside every registered arena", 0);
        a->err = CL_INVALID_MEM_OBJECT;
        return;
    }
    gpt2_ocl_arg(a, sizeof(cl_mem), &a->dev->arena_buf[arena]);
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

cl_int gpt2_ocl_enqueue(const gpt2_ocl_dev_t *d, gpt2_ocl_kset_t *set, cl_command_queue q,
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
