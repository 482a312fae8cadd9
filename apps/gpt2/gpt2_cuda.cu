/*
 * gpt2_cuda.cu: the CUDA implementation of the GPT-2 ops (gpt2_ops.h). Inside a CUDA task body,
 * gpt2_cuda_run() launches the op's kernels (and cuBLAS SGEMMs for the matmuls) on
 * nodus_cuda_stream() and returns; libnodus records the completion event behind them.
 *
 * Memory: the training code's arenas come from gpt2_cuda_alloc (managed memory), so the op's host
 * pointers are device pointers as they are. CPU tasks and GPU kernels touch the same arenas at
 * different times, ordered by the task graph (a successor starts only after the completion event
 * of this op's stream work); concurrent host access to managed memory that a kernel elsewhere
 * might use needs concurrentManagedAccess, which every GPU this targets (sm_90) has.
 *
 * Kernels are deliberately plain: one kernel per step of an op, grid-stride loops, one thread (or
 * one warp, for row reductions) owning each output element, so no atomics are needed: a gradient
 * that sums over rows (weights, biases, attention keys and values) is summed by the thread that
 * owns it. The math is llm.c's CPU reference (train_gpt2.c) without dropout, and matches
 * gpt2_kernels.cl (the OpenCL twin) step by step.
 *
 * cuBLAS: a handle is not safe to re-bind to another stream while work it issued may still run
 * (its workspace would be shared by two streams), so there is one handle per (device, stream),
 * created on first use and bound once; several threads may then use it at once (cuBLAS allows
 * that for a handle whose configuration does not change). Math mode stays CUBLAS_DEFAULT_MATH:
 * plain FP32, no TF32, so results agree with the CPU within the tests' 1e-3.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gpt2_ops.h is a C header: its functions, defined here, keep C linkage for the C callers */
extern "C" {
#include "gpt2_ops.h"
}

#include <nodus/cuda.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>

#define GPT2_CUDA_THREADS     256
#define GPT2_CUDA_MAX_BLOCKS  4096 /* grid-stride loops cover the rest */
#define GPT2_CUDA_MAX_HANDLES 64
#define GPT2_CUDA_GELU_SCALE  0.7978845608028654f /* sqrt(2/pi) */

/* ---- kernels: element-wise and per-row ---- */

/* for (i = first thread; i < n; i += all threads) */
#define GPT2_CUDA_FOR(i, n)                                                                        \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)(n);                      \
         i += (long)gridDim.x * blockDim.x)

/* Rows handled one per warp: for (r = this warp; r < nrows; r += all warps); `lane` in 0..31. */
#define GPT2_CUDA_FOR_ROWS(r, nrows)                                                               \
    for (long r = ((long)blockIdx.x * blockDim.x + threadIdx.x) / 32; r < (long)(nrows);           \
         r += (long)gridDim.x * blockDim.x / 32)

__device__ static float gpt2_cuda_warp_sum(float v)
{
    for (int o = 16; o > 0; o /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ static float gpt2_cuda_warp_max(float v)
{
    for (int o = 16; o > 0; o /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__global__ static void gpt2_cuda_encoder_fwd(float *out, const int *tokens, const float *wte,
                                             const float *wpe, int bt0, int nrows, int T, int C)
{
    GPT2_CUDA_FOR(idx, (long)nrows * C)
    {
        long bt = bt0 + idx / C, c = idx % C;
        out[bt * C + c] = wte[(long)tokens[bt] * C + c] + wpe[(bt % T) * C + c];
    }
}

/* one thread per channel walks the rows in order, so repeated tokens accumulate in order */
__global__ static void gpt2_cuda_encoder_bwd(float *dwte, float *dwpe, const float *dout,
                                             const int *tokens, int bt0, int bt1, int oc0, int nch,
                                             int T, int C)
{
    GPT2_CUDA_FOR(i, nch)
    {
        long c = oc0 + i;
        for (long bt = bt0; bt < bt1; bt++) {
            float d = dout[bt * C + c];
            dwte[(long)tokens[bt] * C + c] += d;
            dwpe[(bt % T) * C + c] += d;
        }
    }
}

/* one warp per row */
__global__ static void gpt2_cuda_layernorm_fwd(float *out, float *mean, float *rstd,
                                               const float *inp, const float *weight,
                                               const float *bias, int bt0, int nrows, int C)
{
    int lane = threadIdx.x % 32;
    GPT2_CUDA_FOR_ROWS(r, nrows)
    {
        long bt = bt0 + r;
        const float *x = inp + bt * C;
        float *o = out + bt * C;
        float s = 0.0f;
        for (int i = lane; i < C; i += 32)
            s += x[i];
        float m = gpt2_cuda_warp_sum(s) / C;
        float v = 0.0f;
        for (int i = lane; i < C; i += 32)
            v += (x[i] - m) * (x[i] - m);
        float rs = 1.0f / sqrtf(gpt2_cuda_warp_sum(v) / C + 1e-5f);
        for (int i = lane; i < C; i += 32)
            o[i] = rs * (x[i] - m) * weight[i] + bias[i];
        if (lane == 0) {
            mean[bt] = m;
            rstd[bt] = rs;
        }
    }
}

/* one warp per row: the input gradient */
__global__ static void gpt2_cuda_layernorm_bwd_inp(float *dinp, const float *dout, const float *inp,
                                                   const float *weight, const float *mean,
                                                   const float *rstd, int bt0, int nrows, int C)
{
    int lane = threadIdx.x % 32;
    GPT2_CUDA_FOR_ROWS(r, nrows)
    {
        long bt = bt0 + r;
        const float *x = inp + bt * C, *dy = dout + bt * C;
        float *dx = dinp + bt * C;
        float m = mean[bt], s = rstd[bt];
        float dm = 0.0f, dnm = 0.0f;
        for (int i = lane; i < C; i += 32) {
            float dnorm = weight[i] * dy[i];
            dm += dnorm;
            dnm += dnorm * (x[i] - m) * s;
        }
        dm = gpt2_cuda_warp_sum(dm) / C;
        dnm = gpt2_cuda_warp_sum(dnm) / C;
        for (int i = lane; i < C; i += 32) {
            float norm = (x[i] - m) * s;
            dx[i] += (weight[i] * dy[i] - dm - norm * dnm) * s;
        }
    }
}

/* one thread per channel: dweight and dbias summed over the rows */
__global__ static void gpt2_cuda_layernorm_bwd_wb(float *dweight, float *dbias, const float *dout,
                                                  const float *inp, const float *mean,
                                                  const float *rstd, int bt0, int bt1, int C)
{
    GPT2_CUDA_FOR(c, C)
    {
        float dw = 0.0f, db = 0.0f;
        for (long bt = bt0; bt < bt1; bt++) {
            float dy = dout[bt * C + c];
            db += dy;
            dw += (inp[bt * C + c] - mean[bt]) * rstd[bt] * dy;
        }
        dweight[c] += dw;
        dbias[c] += db;
    }
}

/* out[bt, oc0 + j] = bias[oc0 + j] for the slice, before an SGEMM with beta = 1 adds the product */
__global__ static void gpt2_cuda_bias_fill(float *out, const float *bias, int bt0, int nrows,
                                           int oc0, int noc, int OC)
{
    GPT2_CUDA_FOR(idx, (long)nrows * noc)
    {
        long bt = bt0 + idx / noc, oc = oc0 + idx % noc;
        out[bt * OC + oc] = bias[oc];
    }
}

/* one thread per output channel: dbias[oc] += sum over rows of dout[bt, oc] */
__global__ static void gpt2_cuda_bias_grad(float *dbias, const float *dout, int bt0, int bt1,
                                           int oc0, int noc, int OC)
{
    GPT2_CUDA_FOR(i, noc)
    {
        long oc = oc0 + i;
        float s = 0.0f;
        for (long bt = bt0; bt < bt1; bt++)
            s += dout[bt * OC + oc];
        dbias[oc] += s;
    }
}

/* ---- attention: rows [bt0, bt0+nrows) of one batch b, heads [h0, h0+nh) ----
 * qkv rows are 3C wide (q at h*hs, k at C + h*hs, v at 2C + h*hs); (b, h, t) of a [B, NH, T, T]
 * tensor is the row ((b*NH + h)*T + t)*T. */
#define GPT2_CUDA_ATT_ROW(b, h, t) ((((long)(b)*NH + (h)) * T + (t)) * T)

/* preatt = q.k / sqrt(hs) for t2 <= t; one thread per (row, head, t2) */
__global__ static void gpt2_cuda_attn_preatt(float *preatt, const float *inp, int bt0, int nrows,
                                             int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    GPT2_CUDA_FOR(idx, (long)nrows * nh * T)
    {
        int t2 = idx % T, h = h0 + (int)((idx / T) % nh);
        long bt = bt0 + idx / ((long)T * nh), b = bt / T, t = bt % T;
        if (t2 > t) continue;
        const float *q = inp + bt * 3 * C + h * hs;
        const float *k = inp + (b * T + t2) * 3 * C + C + h * hs;
        float s = 0.0f;
        for (int i = 0; i < hs; i++)
            s += q[i] * k[i];
        preatt[GPT2_CUDA_ATT_ROW(b, h, t) + t2] = s * (1.0f / sqrtf((float)hs));
    }
}

/* att = softmax of the row over t2 <= t, 0 above; one warp per (row, head) */
__global__ static void gpt2_cuda_attn_softmax(float *att, const float *preatt, int bt0, int nrows,
                                              int h0, int nh, int T, int NH)
{
    int lane = threadIdx.x % 32;
    GPT2_CUDA_FOR_ROWS(idx, (long)nrows * nh)
    {
        int h = h0 + (int)(idx % nh);
        long bt = bt0 + idx / nh, b = bt / T, t = bt % T;
        const float *p = preatt + GPT2_CUDA_ATT_ROW(b, h, t);
        float *a = att + GPT2_CUDA_ATT_ROW(b, h, t);
        float mx = -10000.0f; /* llm.c's starting value */
        for (int t2 = lane; t2 <= t; t2 += 32)
            mx = fmaxf(mx, p[t2]);
        mx = gpt2_cuda_warp_max(mx);
        float sum = 0.0f;
        for (int t2 = lane; t2 <= t; t2 += 32)
            sum += expf(p[t2] - mx);
        sum = gpt2_cuda_warp_sum(sum);
        float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
        for (int t2 = lane; t2 < T; t2 += 32)
            a[t2] = t2 <= t ? expf(p[t2] - mx) * inv : 0.0f;
    }
}

/* out[bt, h*hs + i] = sum_{t2<=t} att * v_t2[i]; one thread per (row, head, i) */
__global__ static void gpt2_cuda_attn_out(float *out, const float *att, const float *inp, int bt0,
                                          int nrows, int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    GPT2_CUDA_FOR(idx, (long)nrows * nh * hs)
    {
        int i = idx % hs, h = h0 + (int)((idx / hs) % nh);
        long bt = bt0 + idx / ((long)hs * nh), b = bt / T, t = bt % T;
        const float *a = att + GPT2_CUDA_ATT_ROW(b, h, t);
        const float *v = inp + b * T * 3 * C + 2 * C + h * hs + i;
        float s = 0.0f;
        for (long t2 = 0; t2 <= t; t2++)
            s += a[t2] * v[t2 * 3 * C];
        out[bt * C + h * hs + i] = s;
    }
}

/* datt = v_t2 . dout_t for t2 <= t, 0 above; one thread per (row, head, t2) */
__global__ static void gpt2_cuda_attn_datt(float *datt, const float *dout, const float *inp,
                                           int bt0, int nrows, int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    GPT2_CUDA_FOR(idx, (long)nrows * nh * T)
    {
        int t2 = idx % T, h = h0 + (int)((idx / T) % nh);
        long bt = bt0 + idx / ((long)T * nh), b = bt / T, t = bt % T;
        float s = 0.0f;
        if (t2 <= t) {
            const float *dy = dout + bt * C + h * hs;
            const float *v = inp + (b * T + t2) * 3 * C + 2 * C + h * hs;
            for (int i = 0; i < hs; i++)
                s += v[i] * dy[i];
        }
        datt[GPT2_CUDA_ATT_ROW(b, h, t) + t2] = s;
    }
}

/* softmax backward, llm.c's O(T^2) sum rewritten as att[t3] * (datt[t3] - sum att * datt);
 * one warp per (row, head), 0 above the diagonal */
__global__ static void gpt2_cuda_attn_dpreatt(float *dpreatt, const float *att, const float *datt,
                                              int bt0, int nrows, int h0, int nh, int T, int NH)
{
    int lane = threadIdx.x % 32;
    GPT2_CUDA_FOR_ROWS(idx, (long)nrows * nh)
    {
        int h = h0 + (int)(idx % nh);
        long bt = bt0 + idx / nh, b = bt / T, t = bt % T;
        const float *a = att + GPT2_CUDA_ATT_ROW(b, h, t);
        const float *da = datt + GPT2_CUDA_ATT_ROW(b, h, t);
        float *dp = dpreatt + GPT2_CUDA_ATT_ROW(b, h, t);
        float dot = 0.0f;
        for (int t2 = lane; t2 <= t; t2 += 32)
            dot += a[t2] * da[t2];
        dot = gpt2_cuda_warp_sum(dot);
        for (int t3 = lane; t3 < T; t3 += 32)
            dp[t3] = t3 <= t ? a[t3] * (da[t3] - dot) : 0.0f;
    }
}

/* dq_t[i] += scale * sum_{t2<=t} dpreatt[t,t2] * k_t2[i]; one thread per (row, head, i) */
__global__ static void gpt2_cuda_attn_dq(float *dinp, const float *dpreatt, const float *inp,
                                         int bt0, int nrows, int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    GPT2_CUDA_FOR(idx, (long)nrows * nh * hs)
    {
        int i = idx % hs, h = h0 + (int)((idx / hs) % nh);
        long bt = bt0 + idx / ((long)hs * nh), b = bt / T, t = bt % T;
        const float *dp = dpreatt + GPT2_CUDA_ATT_ROW(b, h, t);
        const float *k = inp + b * T * 3 * C + C + h * hs + i;
        float s = 0.0f;
        for (long t2 = 0; t2 <= t; t2++)
            s += dp[t2] * k[t2 * 3 * C];
        dinp[bt * 3 * C + h * hs + i] += s * (1.0f / sqrtf((float)hs));
    }
}

/* dk and dv of key row t2 (0 .. t1-1 of the batch) from the slice's query rows t >= t2; one
 * thread per (t2, head, i) owns both elements */
__global__ static void gpt2_cuda_attn_dkv(float *dinp, const float *dpreatt, const float *att,
                                          const float *dout, const float *inp, int bt0, int nrows,
                                          int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    long b = bt0 / T, t0 = bt0 % T, t1 = t0 + nrows;
    GPT2_CUDA_FOR(idx, t1 * nh * hs)
    {
        int i = idx % hs, h = h0 + (int)((idx / hs) % nh);
        long t2 = idx / ((long)hs * nh);
        float dk = 0.0f, dv = 0.0f;
        for (long t = t0 > t2 ? t0 : t2; t < t1; t++) {
            long arow = GPT2_CUDA_ATT_ROW(b, h, t) + t2;
            dk += dpreatt[arow] * inp[(b * T + t) * 3 * C + h * hs + i];
            dv += att[arow] * dout[(b * T + t) * C + h * hs + i];
        }
        float *d = dinp + (b * T + t2) * 3 * C + h * hs + i;
        d[C] += dk * (1.0f / sqrtf((float)hs));
        d[2 * C] += dv;
    }
}

/* ---- element-wise over n consecutive elements ---- */

__global__ static void gpt2_cuda_gelu_fwd(float *out, const float *inp, long n)
{
    GPT2_CUDA_FOR(i, n)
    {
        float x = inp[i];
        float cube = 0.044715f * x * x * x;
        out[i] = 0.5f * x * (1.0f + tanhf(GPT2_CUDA_GELU_SCALE * (x + cube)));
    }
}

__global__ static void gpt2_cuda_gelu_bwd(float *dinp, const float *inp, const float *dout, long n)
{
    GPT2_CUDA_FOR(i, n)
    {
        float x = inp[i];
        float cube = 0.044715f * x * x * x;
        float arg = GPT2_CUDA_GELU_SCALE * (x + cube);
        float th = tanhf(arg), ch = coshf(arg);
        float sech2 = 1.0f / (ch * ch);
        float grad = 0.5f * (1.0f + th) +
                     x * 0.5f * sech2 * GPT2_CUDA_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += grad * dout[i];
    }
}

__global__ static void gpt2_cuda_residual_fwd(float *out, const float *inp1, const float *inp2,
                                              long n)
{
    GPT2_CUDA_FOR(i, n) out[i] = inp1[i] + inp2[i];
}

__global__ static void gpt2_cuda_residual_bwd(float *dinp1, float *dinp2, const float *dout, long n)
{
    GPT2_CUDA_FOR(i, n)
    {
        dinp1[i] += dout[i];
        dinp2[i] += dout[i];
    }
}

/* ---- softmax, cross-entropy, AdamW ---- */

/* one warp per row: probs[0..V) = softmax(logits[0..V)), probs[V..Vp) = 0 */
__global__ static void gpt2_cuda_softmax_fwd(float *probs, const float *logits, int bt0, int nrows,
                                             int V, int Vp)
{
    int lane = threadIdx.x % 32;
    GPT2_CUDA_FOR_ROWS(r, nrows)
    {
        const float *l = logits + (bt0 + r) * Vp;
        float *p = probs + (bt0 + r) * Vp;
        float mx = -10000.0f; /* llm.c's starting value */
        for (int i = lane; i < V; i += 32)
            mx = fmaxf(mx, l[i]);
        mx = gpt2_cuda_warp_max(mx);
        float sum = 0.0f;
        for (int i = lane; i < V; i += 32)
            sum += expf(l[i] - mx);
        sum = gpt2_cuda_warp_sum(sum);
        for (int i = lane; i < Vp; i += 32)
            p[i] = i < V ? expf(l[i] - mx) / sum : 0.0f;
    }
}

__global__ static void gpt2_cuda_crossentropy_fwd(float *losses, const float *probs,
                                                  const int *targets, int bt0, int nrows, int Vp)
{
    GPT2_CUDA_FOR(r, nrows)
    {
        long bt = bt0 + r;
        losses[bt] = -logf(probs[bt * Vp + targets[bt]]);
    }
}

__global__ static void gpt2_cuda_crossentropy_softmax_bwd(float *dlogits, const float *probs,
                                                          const int *targets, float dloss, int bt0,
                                                          int nrows, int V, int Vp)
{
    GPT2_CUDA_FOR(idx, (long)nrows * V)
    {
        long bt = bt0 + idx / V, i = idx % V;
        float indicator = i == targets[bt] ? 1.0f : 0.0f;
        dlogits[bt * Vp + i] += (probs[bt * Vp + i] - indicator) * dloss;
    }
}

__global__ static void gpt2_cuda_adamw(float *params, float *m, float *v, const float *grads,
                                       long n, float lr, float beta1, float beta2, float eps,
                                       float weight_decay, float bc1, float bc2)
{
    GPT2_CUDA_FOR(i, n)
    {
        float g = grads[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float p = params[i];
        params[i] = p - lr * ((mi / bc1) / (sqrtf(vi / bc2) + eps) + weight_decay * p);
    }
}

/* ---- host side ---- */

/* One cuBLAS handle bound to one stream of one device (see the top of the file). */
typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t handle;
} gpt2_cuda_blas_t;

static pthread_mutex_t gpt2_cuda_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the table */
static gpt2_cuda_blas_t gpt2_cuda_blas[GPT2_CUDA_MAX_HANDLES];
static int gpt2_cuda_nblas;
static int gpt2_cuda_ndevices; /* CUDA devices of the session found by gpt2_cuda_init */
static int gpt2_cuda_errors;   /* reports printed, under gpt2_cuda_lock */

/* Reports an error from a body (which cannot return one); the first few are printed. */
static void gpt2_cuda_report(const char *what, int code)
{
    pthread_mutex_lock(&gpt2_cuda_lock);
    if (gpt2_cuda_errors++ < 10) fprintf(stderr, "gpt2_cuda: %s (%d)\n", what, code);
    pthread_mutex_unlock(&gpt2_cuda_lock);
}

/* The handle bound to `stream` on `device` (the current one), created on first use; NULL on
 * error. */
static cublasHandle_t gpt2_cuda_handle(int device, cudaStream_t stream)
{
    cublasHandle_t h = NULL;
    pthread_mutex_lock(&gpt2_cuda_lock);
    for (int i = 0; i < gpt2_cuda_nblas && !h; i++)
        if (gpt2_cuda_blas[i].device == device && gpt2_cuda_blas[i].stream == stream)
            h = gpt2_cuda_blas[i].handle;
    if (!h && gpt2_cuda_nblas < GPT2_CUDA_MAX_HANDLES) {
        cublasStatus_t st = cublasCreate(&h);
        if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetStream(h, stream);
        if (st == CUBLAS_STATUS_SUCCESS) {
            gpt2_cuda_blas[gpt2_cuda_nblas++] = {device, stream, h};
        } else {
            if (h) cublasDestroy(h);
            h = NULL;
            if (gpt2_cuda_errors++ < 10) fprintf(stderr, "gpt2_cuda: cublasCreate (%d)\n", st);
        }
    }
    pthread_mutex_unlock(&gpt2_cuda_lock);
    return h;
}

int gpt2_cuda_init(struct nodus *n)
{
    int found = 0;
    for (int i = 0; i < nodus_num_devices(n); i++) {
        nodus_device_kind_t kind;
        char name[64];
        if (nodus_device_info(n, i, &kind, name, sizeof name) == 0 && kind == NODUS_DEV_CUDA &&
            nodus_cuda_device_of(n, i) >= 0)
            found++;
    }
    gpt2_cuda_ndevices = found;
    return found > 0 ? 0 : -1;
}

void *gpt2_cuda_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaMallocManaged(&p, bytes, cudaMemAttachGlobal) != cudaSuccess) return NULL;
    return p;
}

void gpt2_cuda_free(void *p)
{
    if (p) cudaFree(p);
}

void gpt2_cuda_fini(void)
{
    pthread_mutex_lock(&gpt2_cuda_lock);
    int current = -1;
    cudaGetDevice(&current);
    for (int i = 0; i < gpt2_cuda_nblas; i++) {
        cudaSetDevice(gpt2_cuda_blas[i].device);
        cublasDestroy(gpt2_cuda_blas[i].handle);
    }
    if (current >= 0) cudaSetDevice(current);
    gpt2_cuda_nblas = 0;
    gpt2_cuda_ndevices = 0;
    pthread_mutex_unlock(&gpt2_cuda_lock);
}

/* Blocks for n items of a grid-stride kernel (at least one, at most GPT2_CUDA_MAX_BLOCKS). */
static unsigned gpt2_cuda_blocks(long n)
{
    long b = (n + GPT2_CUDA_THREADS - 1) / GPT2_CUDA_THREADS;
    return (unsigned)(b < 1 ? 1 : b > GPT2_CUDA_MAX_BLOCKS ? GPT2_CUDA_MAX_BLOCKS : b);
}

/* Launch helpers: `items` threads, or `rows` warps, on stream s (nothing when there are none). */
#define GPT2_CUDA_LAUNCH(kernel, items, s, ...)                                                    \
    do {                                                                                           \
        if ((long)(items) > 0)                                                                     \
            kernel<<<gpt2_cuda_blocks(items), GPT2_CUDA_THREADS, 0, s>>>(__VA_ARGS__);             \
    } while (0)
#define GPT2_CUDA_LAUNCH_ROWS(kernel, rows, s, ...)                                                \
    GPT2_CUDA_LAUNCH(kernel, (long)(rows)*32, s, __VA_ARGS__)

/* Row-major C[M,N] (ldc) = alpha-free A·B forms via column-major cuBLAS: a row-major matrix is
 * its column-major transpose, so row-major C = X·Y is column-major C^T = Y^T·X^T. */
static cublasStatus_t gpt2_cuda_matmul(cublasHandle_t h, cudaStream_t s, const gpt2_op_t *op)
{
    const float one = 1.0f, zero = 0.0f;
    int rows = op->bt1 - op->bt0, C = op->C, OC = op->OC, noc = op->oc1 - op->oc0;
    if (rows <= 0) return CUBLAS_STATUS_SUCCESS;
    switch (op->kind) {
    case GPT2_OP_MATMUL_FWD: {
        /* out[rows, noc] = inp[rows, C] · W[noc, C]^T  <=>  out^T = W · inp^T (column-major:
         * W is stored as the C x noc matrix W^T, hence OP_T; inp as inp^T, hence OP_N) */
        if (noc <= 0) return CUBLAS_STATUS_SUCCESS;
        const float *bias = op->u.matmul_fwd.bias;
        float *out = op->u.matmul_fwd.out + (size_t)op->bt0 * OC + op->oc0;
        if (bias)
            GPT2_CUDA_LAUNCH(gpt2_cuda_bias_fill, (long)rows * noc, s, op->u.matmul_fwd.out, bias,
                             op->bt0, rows, op->oc0, noc, OC);
        return cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, noc, rows, C, &one,
                           op->u.matmul_fwd.weight + (size_t)op->oc0 * C, C,
                           op->u.matmul_fwd.inp + (size_t)op->bt0 * C, C, bias ? &one : &zero, out,
                           OC);
    }
    case GPT2_OP_MATMUL_BWD_INP:
        /* dinp[rows, C] += dout[rows, OC] · W[OC, C]  <=>  dinp^T += W^T · dout^T, both stored
         * as such in column-major */
        return cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, C, rows, OC, &one,
                           op->u.matmul_bwd_inp.weight, C,
                           op->u.matmul_bwd_inp.dout + (size_t)op->bt0 * OC, OC, &one,
                           op->u.matmul_bwd_inp.dinp + (size_t)op->bt0 * C, C);
    default: { /* GPT2_OP_MATMUL_BWD_WEIGHT */
        /* dW[noc, C] += dout[rows, noc]^T · inp[rows, C]  <=>  dW^T (C x noc) += inp^T · dout,
         * inp^T stored as such (OP_N), dout stored as dout^T (OC x rows: OP_T) */
        if (noc <= 0) return CUBLAS_STATUS_SUCCESS;
        cublasStatus_t st =
            cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, C, noc, rows, &one,
                        op->u.matmul_bwd_weight.inp + (size_t)op->bt0 * C, C,
                        op->u.matmul_bwd_weight.dout + (size_t)op->bt0 * OC + op->oc0, OC, &one,
                        op->u.matmul_bwd_weight.dweight + (size_t)op->oc0 * C, C);
        if (st == CUBLAS_STATUS_SUCCESS && op->u.matmul_bwd_weight.dbias)
            GPT2_CUDA_LAUNCH(gpt2_cuda_bias_grad, noc, s, op->u.matmul_bwd_weight.dbias,
                             op->u.matmul_bwd_weight.dout, op->bt0, op->bt1, op->oc0, noc, OC);
        return st;
    }
    }
}

static void gpt2_cuda_attention(cudaStream_t s, const gpt2_op_t *op)
{
    int bt0 = op->bt0, rows = op->bt1 - op->bt0, h0 = op->h0, nh = op->h1 - op->h0;
    int T = op->T, C = op->C, NH = op->NH, hs = C / NH;
    if (rows <= 0 || nh <= 0) return;
    if (op->kind == GPT2_OP_ATTENTION_FWD) {
        const auto &a = op->u.attention_fwd;
        GPT2_CUDA_LAUNCH(gpt2_cuda_attn_preatt, (long)rows * nh * T, s, a.preatt, a.inp, bt0, rows,
                         h0, nh, T, C, NH);
        GPT2_CUDA_LAUNCH_ROWS(gpt2_cuda_attn_softmax, (long)rows * nh, s, a.att, a.preatt, bt0,
                              rows, h0, nh, T, NH);
        GPT2_CUDA_LAUNCH(gpt2_cuda_attn_out, (long)rows * nh * hs, s, a.out, a.att, a.inp, bt0,
                         rows, h0, nh, T, C, NH);
        return;
    }
    const auto &a = op->u.attention_bwd;
    long t1 = bt0 % T + rows; /* key rows 0 .. t1-1 of the batch get gradients */
    GPT2_CUDA_LAUNCH(gpt2_cuda_attn_datt, (long)rows * nh * T, s, a.datt, a.dout, a.inp, bt0, rows,
                     h0, nh, T, C, NH);
    GPT2_CUDA_LAUNCH_ROWS(gpt2_cuda_attn_dpreatt, (long)rows * nh, s, a.dpreatt, a.att, a.datt, bt0,
                          rows, h0, nh, T, NH);
    GPT2_CUDA_LAUNCH(gpt2_cuda_attn_dq, (long)rows * nh * hs, s, a.dinp, a.dpreatt, a.inp, bt0,
                     rows, h0, nh, T, C, NH);
    GPT2_CUDA_LAUNCH(gpt2_cuda_attn_dkv, t1 * nh * hs, s, a.dinp, a.dpreatt, a.att, a.dout, a.inp,
                     bt0, rows, h0, nh, T, C, NH);
}

void gpt2_cuda_run(const gpt2_op_t *op)
{
    cudaStream_t s = nodus_cuda_stream();
    int device = nodus_cuda_device();
    if (!s || device < 0 || gpt2_cuda_ndevices == 0) {
        gpt2_cuda_report("gpt2_cuda_run outside a CUDA body, or before gpt2_cuda_init", device);
        return;
    }
    int bt0 = op->bt0, rows = op->bt1 - op->bt0;
    size_t first = (size_t)op->bt0 * op->width; /* element-wise ops: rows are contiguous */
    long n = (long)rows * op->width;
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    switch (op->kind) {
    case GPT2_OP_ENCODER_FWD: {
        const auto &a = op->u.encoder_fwd;
        GPT2_CUDA_LAUNCH(gpt2_cuda_encoder_fwd, (long)rows * op->C, s, a.out, a.tokens, a.wte,
                         a.wpe, bt0, rows, op->T, op->C);
        break;
    }
    case GPT2_OP_ENCODER_BWD: {
        const auto &a = op->u.encoder_bwd;
        GPT2_CUDA_LAUNCH(gpt2_cuda_encoder_bwd, op->oc1 - op->oc0, s, a.dwte, a.dwpe, a.dout,
                         a.tokens, bt0, op->bt1, op->oc0, op->oc1 - op->oc0, op->T, op->C);
        break;
    }
    case GPT2_OP_LAYERNORM_FWD: {
        const auto &a = op->u.layernorm_fwd;
        GPT2_CUDA_LAUNCH_ROWS(gpt2_cuda_layernorm_fwd, rows, s, a.out, a.mean, a.rstd, a.inp,
                              a.weight, a.bias, bt0, rows, op->C);
        break;
    }
    case GPT2_OP_LAYERNORM_BWD: {
        const auto &a = op->u.layernorm_bwd;
        GPT2_CUDA_LAUNCH_ROWS(gpt2_cuda_layernorm_bwd_inp, rows, s, a.dinp, a.dout, a.inp, a.weight,
                              a.mean, a.rstd, bt0, rows, op->C);
        if (rows > 0)
            GPT2_CUDA_LAUNCH(gpt2_cuda_layernorm_bwd_wb, op->C, s, a.dweight, a.dbias, a.dout,
                             a.inp, a.mean, a.rstd, bt0, op->bt1, op->C);
        break;
    }
    case GPT2_OP_MATMUL_FWD:
    case GPT2_OP_MATMUL_BWD_INP:
    case GPT2_OP_MATMUL_BWD_WEIGHT: {
        cublasHandle_t h = gpt2_cuda_handle(device, s);
        if (!h) return;
        st = gpt2_cuda_matmul(h, s, op);
        break;
    }
    case GPT2_OP_ATTENTION_FWD:
    case GPT2_OP_ATTENTION_BWD:
        gpt2_cuda_attention(s, op);
        break;
    case GPT2_OP_GELU_FWD:
        GPT2_CUDA_LAUNCH(gpt2_cuda_gelu_fwd, n, s, op->u.gelu_fwd.out + first,
                         op->u.gelu_fwd.inp + first, n);
        break;
    case GPT2_OP_GELU_BWD:
        GPT2_CUDA_LAUNCH(gpt2_cuda_gelu_bwd, n, s, op->u.gelu_bwd.dinp + first,
                         op->u.gelu_bwd.inp + first, op->u.gelu_bwd.dout + first, n);
        break;
    case GPT2_OP_RESIDUAL_FWD:
        GPT2_CUDA_LAUNCH(gpt2_cuda_residual_fwd, n, s, op->u.residual_fwd.out + first,
                         op->u.residual_fwd.inp1 + first, op->u.residual_fwd.inp2 + first, n);
        break;
    case GPT2_OP_RESIDUAL_BWD:
        GPT2_CUDA_LAUNCH(gpt2_cuda_residual_bwd, n, s, op->u.residual_bwd.dinp1 + first,
                         op->u.residual_bwd.dinp2 + first, op->u.residual_bwd.dout + first, n);
        break;
    case GPT2_OP_SOFTMAX_FWD:
        GPT2_CUDA_LAUNCH_ROWS(gpt2_cuda_softmax_fwd, rows, s, op->u.softmax_fwd.probs,
                              op->u.softmax_fwd.logits, bt0, rows, op->V, op->Vp);
        break;
    case GPT2_OP_CROSSENTROPY_FWD:
        GPT2_CUDA_LAUNCH(gpt2_cuda_crossentropy_fwd, rows, s, op->u.crossentropy_fwd.losses,
                         op->u.crossentropy_fwd.probs, op->u.crossentropy_fwd.targets, bt0, rows,
                         op->Vp);
        break;
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD: {
        const auto &a = op->u.crossentropy_softmax_bwd;
        GPT2_CUDA_LAUNCH(gpt2_cuda_crossentropy_softmax_bwd, (long)rows * op->V, s, a.dlogits,
                         a.probs, a.targets, a.dloss, bt0, rows, op->V, op->Vp);
        break;
    }
    case GPT2_OP_ADAMW: {
        const auto &a = op->u.adamw;
        /* llm.c's bias corrections, once on the host in float as on the CPU */
        float bc1 = 1.0f - powf(a.beta1, (float)a.step), bc2 = 1.0f - powf(a.beta2, (float)a.step);
        long count = a.i1 > a.i0 ? (long)(a.i1 - a.i0) : 0;
        GPT2_CUDA_LAUNCH(gpt2_cuda_adamw, count, s, a.params + a.i0, a.m + a.i0, a.v + a.i0,
                         a.grads + a.i0, count, a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, bc1,
                         bc2);
        break;
    }
    default:
        gpt2_cuda_report("unknown op kind", (int)op->kind);
        return;
    }
    if (st != CUBLAS_STATUS_SUCCESS) gpt2_cuda_report("cublasSgemm", (int)st);
    cudaError_t err = cudaGetLastError(); /* launch errors of this thread's last launches */
    if (err != cudaSuccess) gpt2_cuda_report(cudaGetErrorString(err), (int)err);
}
