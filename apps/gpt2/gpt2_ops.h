/*
 * gpt2_ops.h: one GPT-2 kernel applied to one slice of its tensors, independent of where it runs.
 *
 * A training step is a graph of ops. Each op is a task: the graph builder (gpt2_graph.c) fills a
 * gpt2_op_t, declares the op's byte ranges as the task's accesses, and offers the
 * implementations it has (gpt2_cpu_run, gpt2_ocl_run, gpt2_cuda_run) as a multi-version task;
 * the daemon picks one per task. Every implementation computes exactly the slice described here
 * and touches no other element, so any split that the graph builder declares precisely is
 * race-free. The math is llm.c's CPU reference (train_gpt2.c) with dropout removed.
 *
 * Shapes: B batch, T sequence, C channels, NH heads (hs = C/NH), V vocabulary, Vp padded
 * vocabulary. Activations are row-major with the flattened row index bt = b*T + t. A slice is a
 * half-open row range [bt0, bt1) plus, where an op has one, a half-open range of output channels
 * [oc0, oc1) or of heads [h0, h1). "+=" marks gradients that are accumulated, as in llm.c (the
 * step zeroes them first).
 *
 * Memory: every pointer is a host address inside one of the arenas the training code allocated
 * (parameters, gradients, activations, activation gradients, AdamW moments). For CUDA the arenas
 * are managed memory (cudaMallocManaged), so the pointers are valid on the GPU as they are. For
 * OpenCL the arenas are registered with gpt2_ocl_register() before any op runs, and the OpenCL
 * implementation turns a pointer into (buffer, offset).
 */
#ifndef GPT2_OPS_H
#define GPT2_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    /* out[bt,c] = wte[tokens[bt],c] + wpe[t,c] for rows [bt0,bt1), every c */
    GPT2_OP_ENCODER_FWD,
    /* dwte[tokens[bt],c] += dout[bt,c] and dwpe[t,c] += dout[bt,c] for channels [oc0,oc1), over
     * rows [bt0,bt1) in increasing order (a channel split is race-free) */
    GPT2_OP_ENCODER_BWD,
    /* rows [bt0,bt1): mean[bt], rstd[bt] = 1/sqrt(var + 1e-5) (biased variance),
     * out[bt,c] = (inp[bt,c] - mean) * rstd * weight[c] + bias[c] */
    GPT2_OP_LAYERNORM_FWD,
    /* rows [bt0,bt1): dinp[bt,:] += the layernorm input gradient; dweight[c] += sum over the rows
     * of dout*norm and dbias[c] += sum of dout (llm.c's formula, using the saved mean/rstd) */
    GPT2_OP_LAYERNORM_BWD,
    /* out[bt,oc] = bias[oc] + sum_c inp[bt,c] * weight[oc,c] for rows [bt0,bt1), output
     * channels [oc0,oc1); bias may be NULL. inp is [B*T, C], weight [OC, C], out [B*T, OC] */
    GPT2_OP_MATMUL_FWD,
    /* dinp[bt,c] += sum_oc dout[bt,oc] * weight[oc,c] for rows [bt0,bt1), every c, every oc
     * (oc0/oc1 unused) */
    GPT2_OP_MATMUL_BWD_INP,
    /* for output channels [oc0,oc1): dweight[oc,c] += sum over rows [bt0,bt1) of
     * dout[bt,oc] * inp[bt,c]; dbias[oc] += sum of dout[bt,oc] (dbias may be NULL) */
    GPT2_OP_MATMUL_BWD_WEIGHT,
    /* causal multi-head attention, llm.c's layout: inp = qkv [B*T, 3C] (q | k | v, head h at
     * columns h*hs..), preatt and att [B, NH, T, T], out [B*T, C]. For rows [bt0,bt1) (all in one
     * batch b = bt0/T) and heads [h0,h1): preatt[b,h,t,t2] = q.k / sqrt(hs) for t2 <= t, att the
     * softmax over t2 <= t (0 above the diagonal), out[bt, h*hs + i] = sum att * v. Reads the k
     * and v rows b*T .. bt1-1 */
    GPT2_OP_ATTENTION_FWD,
    /* backward of the above for rows [bt0,bt1) in one batch and heads [h0,h1): writes
     * datt and dpreatt at those (b,h,t) rows (scratch, [B,NH,T,T]), and dinp (dqkv) += the
     * gradient: q columns of rows [bt0,bt1), k and v columns of rows b*T .. bt1-1, heads [h0,h1)
     * only. Rows are processed in decreasing t, as llm.c */
    GPT2_OP_ATTENTION_BWD,
    /* out[i] = gelu_tanh(inp[i]) for the elements of rows [bt0,bt1) of a [B*T, width] tensor */
    GPT2_OP_GELU_FWD,
    /* dinp[i] += gelu_tanh'(inp[i]) * dout[i] over the same elements */
    GPT2_OP_GELU_BWD,
    /* out[i] = inp1[i] + inp2[i] over rows [bt0,bt1) of [B*T, width] */
    GPT2_OP_RESIDUAL_FWD,
    /* dinp1[i] += dout[i] and dinp2[i] += dout[i] over the same elements */
    GPT2_OP_RESIDUAL_BWD,
    /* rows [bt0,bt1): probs[bt, 0..V) = softmax(logits[bt, 0..V)), probs[bt, V..Vp) = 0 */
    GPT2_OP_SOFTMAX_FWD,
    /* rows [bt0,bt1): losses[bt] = -log(probs[bt, targets[bt]]) */
    GPT2_OP_CROSSENTROPY_FWD,
    /* rows [bt0,bt1): dlogits[bt,i] += (probs[bt,i] - (i == targets[bt])) * dloss for i < V
     * (dloss = 1/(B*T), the gradient of the mean loss; columns V..Vp untouched) */
    GPT2_OP_CROSSENTROPY_SOFTMAX_BWD,
    /* AdamW on parameters [i0,i1): m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
     * mhat = m/(1-b1^step); vhat = v/(1-b2^step);
     * param -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * param) */
    GPT2_OP_ADAMW,
    GPT2_OP_COUNT
} gpt2_op_kind_t;

/* One op on one slice (see the kinds for which fields each reads). Filled by the graph builder;
 * borrowed by the implementations for the duration of the call. */
typedef struct gpt2_op {
    gpt2_op_kind_t kind;
    int B, T, C, NH, V, Vp; /* model and batch shape */
    int OC;                 /* matmul output channels (its C is the input width) */
    int width;              /* row width of element-wise ops (gelu, residual) */
    int bt0, bt1;           /* rows */
    int oc0, oc1;           /* output channels (matmul) or channels (encoder backward) */
    int h0, h1;             /* heads (attention) */
    union {
        struct { float *out; const int *tokens; const float *wte, *wpe; } encoder_fwd;
        struct { float *dwte, *dwpe; const float *dout; const int *tokens; } encoder_bwd;
        struct {
            float *out, *mean, *rstd;
            const float *inp, *weight, *bias;
        } layernorm_fwd;
        struct {
            float *dinp, *dweight, *dbias;
            const float *dout, *inp, *weight, *mean, *rstd;
        } layernorm_bwd;
        struct { float *out; const float *inp, *weight, *bias; } matmul_fwd;
        struct { float *dinp; const float *dout, *weight; } matmul_bwd_inp;
        struct { float *dweight, *dbias; const float *dout, *inp; } matmul_bwd_weight;
        struct { float *out, *preatt, *att; const float *inp; } attention_fwd;
        struct {
            float *dinp, *dpreatt, *datt;
            const float *dout, *inp, *att;
        } attention_bwd;
        struct { float *out; const float *inp; } gelu_fwd;
        struct { float *dinp; const float *inp, *dout; } gelu_bwd;
        struct { float *out; const float *inp1, *inp2; } residual_fwd;
        struct { float *dinp1, *dinp2; const float *dout; } residual_bwd;
        struct { float *probs; const float *logits; } softmax_fwd;
        struct { float *losses; const float *probs; const int *targets; } crossentropy_fwd;
        struct {
            float *dlogits;
            const float *probs;
            const int *targets;
            float dloss;
        } crossentropy_softmax_bwd;
        struct {
            float *params, *m, *v;
            const float *grads;
            size_t i0, i1;
            float lr, beta1, beta2, eps, weight_decay;
            int step; /* 1-based, for bias correction */
        } adamw;
    } u;
} gpt2_op_t;

/* A short name for traces and labels ("matmul_fwd", ...). */
const char *gpt2_op_name(gpt2_op_kind_t kind);

/* ---- CPU implementation (gpt2_cpu.c): plain C, OpenBLAS SGEMM for matmuls ---- */

/* Runs the op synchronously on the calling thread (single-threaded: OpenBLAS is held to one
 * thread by gpt2_cpu_init). Usable as a nodus CPU task body: void (*)(void *) via the wrapper in
 * the graph builder. */
void gpt2_cpu_run(const gpt2_op_t *op);
/* Holds OpenBLAS to one thread per call (the daemon owns the cores); call once at start-up. */
void gpt2_cpu_init(void);

/* ---- OpenCL implementation (gpt2_ocl.c; built when NODUS_HAVE_OPENCL) ---- */

struct nodus;
/* Builds the kernels for every OpenCL device of session `n` (nodus_cl_device_context). 0, or a
 * negative error when no OpenCL device can be used (the app then offers no OpenCL versions). */
int gpt2_ocl_init(struct nodus *n);
/* Registers an arena (USE_HOST_PTR buffers on every device); 0 or a negative error. */
int gpt2_ocl_register(void *base, size_t bytes);
/* Inside an OpenCL task body: enqueues the op on nodus_cl_queue() and returns at once. */
void gpt2_ocl_run(const gpt2_op_t *op);
/* Frees the kernels and buffers. */
void gpt2_ocl_fini(void);

/* ---- CUDA implementation (gpt2_cuda.cu; built when NODUS_HAVE_CUDA) ---- */

/* Creates cuBLAS handles for the session's CUDA devices; 0 or a negative error (no usable GPU). */
int gpt2_cuda_init(struct nodus *n);
/* Allocates an arena in managed memory (host-visible; caller frees with gpt2_cuda_free). */
void *gpt2_cuda_alloc(size_t bytes);
void gpt2_cuda_free(void *p);
/* Inside a CUDA task body: enqueues the op on nodus_cuda_stream() and returns at once. */
void gpt2_cuda_run(const gpt2_op_t *op);
void gpt2_cuda_fini(void);

#endif
