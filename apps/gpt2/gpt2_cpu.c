/*
 * gpt2_cpu.c: the CPU implementation of the GPT-2 ops (gpt2_ops.h), the reference that the
 * OpenCL and CUDA implementations are compared with.
 *
 * The math is llm.c's CPU reference (train_gpt2.c) with dropout removed. Matmuls go to OpenBLAS
 * SGEMM on the slice (leading dimensions select the slice, so nothing is copied); the other
 * kernels are plain loops over restrict-qualified rows that the compiler can vectorise. Where a
 * long sum decides accuracy (layernorm statistics, the softmax normaliser over the vocabulary,
 * bias gradients over many rows) it is accumulated in double.
 *
 * Every kernel writes exactly the elements of its slice and nothing else, and a kernel split into
 * slices computes every element the way the full op would, except where the split itself changes
 * the order of a sum (matmul blocking, bias and key/value gradients split by rows); the tests
 * (tests/gpt2/test_gpt2_cpu.c) state which splits are bit-exact.
 *
 * Everything runs on the calling thread: OpenBLAS is held to one thread (gpt2_cpu_init), since
 * the nodus daemon decides which core runs which task.
 */
#include "gpt2_ops.h"

#include "gpt2_cpu_attention.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#define GPT2_CPU_GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */
#define GPT2_CPU_LN_EPS     1e-5f

static const char *const gpt2_op_names[GPT2_OP_COUNT] = {
    [GPT2_OP_ENCODER_FWD] = "encoder_fwd",
    [GPT2_OP_ENCODER_BWD] = "encoder_bwd",
    [GPT2_OP_LAYERNORM_FWD] = "layernorm_fwd",
    [GPT2_OP_LAYERNORM_BWD] = "layernorm_bwd",
    [GPT2_OP_MATMUL_FWD] = "matmul_fwd",
    [GPT2_OP_MATMUL_BWD_INP] = "matmul_bwd_inp",
    [GPT2_OP_MATMUL_BWD_WEIGHT] = "matmul_bwd_weight",
    [GPT2_OP_ATTENTION_FWD] = "attention_fwd",
    [GPT2_OP_ATTENTION_BWD] = "attention_bwd",
    [GPT2_OP_GELU_FWD] = "gelu_fwd",
    [GPT2_OP_GELU_BWD] = "gelu_bwd",
    [GPT2_OP_RESIDUAL_FWD] = "residual_fwd",
    [GPT2_OP_RESIDUAL_BWD] = "residual_bwd",
    [GPT2_OP_SOFTMAX_FWD] = "softmax_fwd",
    [GPT2_OP_CROSSENTROPY_FWD] = "crossentropy_fwd",
    [GPT2_OP_CROSSENTROPY_SOFTMAX_BWD] = "crossentropy_softmax_bwd",
    [GPT2_OP_ADAMW] = "adamw",
};

const char *gpt2_op_name(gpt2_op_kind_t kind)
{
    if ((int)kind < 0 || kind >= GPT2_OP_COUNT || !gpt2_op_names[kind]) return "unknown";
    return gpt2_op_names[kind];
}

static pthread_once_t gpt2_cpu_once = PTHREAD_ONCE_INIT;

static void gpt2_cpu_init_once(void)
{
    openblas_set_num_threads(1);
}

void gpt2_cpu_init(void)
{
    pthread_once(&gpt2_cpu_once, gpt2_cpu_init_once);
}

/* ---- encoder ---- */

static void gpt2_cpu_encoder_fwd(const gpt2_op_t *op)
{
    const int C = op->C, T = op->T;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        float *restrict out = op->u.encoder_fwd.out + (size_t)bt * C;
        const float *restrict wte =
            op->u.encoder_fwd.wte + (size_t)op->u.encoder_fwd.tokens[bt] * C;
        const float *restrict wpe = op->u.encoder_fwd.wpe + (size_t)(bt % T) * C;
        for (int c = 0; c < C; c++)
            out[c] = wte[c] + wpe[c];
    }
}

/* Rows in increasing order, so that repeated tokens accumulate in the same order however the
 * channels are split. */
static void gpt2_cpu_encoder_bwd(const gpt2_op_t *op)
{
    const int C = op->C, T = op->T, c0 = op->oc0, c1 = op->oc1;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        const float *restrict dout = op->u.encoder_bwd.dout + (size_t)bt * C;
        float *restrict dwte = op->u.encoder_bwd.dwte + (size_t)op->u.encoder_bwd.tokens[bt] * C;
        float *restrict dwpe = op->u.encoder_bwd.dwpe + (size_t)(bt % T) * C;
        for (int c = c0; c < c1; c++) {
            dwte[c] += dout[c];
            dwpe[c] += dout[c];
        }
    }
}

/* ---- layernorm ---- */

static void gpt2_cpu_layernorm_fwd(const gpt2_op_t *op)
{
    const int C = op->C;
    const float *restrict weight = op->u.layernorm_fwd.weight;
    const float *restrict bias = op->u.layernorm_fwd.bias;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        const float *restrict x = op->u.layernorm_fwd.inp + (size_t)bt * C;
        float *restrict out = op->u.layernorm_fwd.out + (size_t)bt * C;
        /* two passes in double: the one-pass E[x^2] - E[x]^2 cancels badly for large means */
        double sum = 0.0;
        for (int c = 0; c < C; c++)
            sum += x[c];
        const double m = sum / C;
        double var = 0.0;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            var += d * d;
        }
        const float mean = (float)m;
        const float rstd = (float)(1.0 / sqrt(var / C + GPT2_CPU_LN_EPS));
        for (int c = 0; c < C; c++)
            out[c] = (x[c] - mean) * rstd * weight[c] + bias[c];
        op->u.layernorm_fwd.mean[bt] = mean;
        op->u.layernorm_fwd.rstd[bt] = rstd;
    }
}

/* llm.c's layernorm_backward. dweight and dbias accumulate row by row in increasing order, so
 * splitting the rows into consecutive slices run in order gives the same bits. */
static void gpt2_cpu_layernorm_bwd(const gpt2_op_t *op)
{
    const int C = op->C;
    const float *restrict weight = op->u.layernorm_bwd.weight;
    float *restrict dweight = op->u.layernorm_bwd.dweight;
    float *restrict dbias = op->u.layernorm_bwd.dbias;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        const float *restrict x = op->u.layernorm_bwd.inp + (size_t)bt * C;
        const float *restrict dout = op->u.layernorm_bwd.dout + (size_t)bt * C;
        float *restrict dinp = op->u.layernorm_bwd.dinp + (size_t)bt * C;
        const float mean = op->u.layernorm_bwd.mean[bt];
        const float rstd = op->u.layernorm_bwd.rstd[bt];

        /* the two reductions of the input gradient */
        double dnorm_sum = 0.0, dnorm_norm_sum = 0.0;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - mean) * rstd;
            float dnorm = weight[c] * dout[c];
            dnorm_sum += dnorm;
            dnorm_norm_sum += (double)dnorm * norm;
        }
        const float dnorm_mean = (float)(dnorm_sum / C);
        const float dnorm_norm_mean = (float)(dnorm_norm_sum / C);

        for (int c = 0; c < C; c++) {
            float norm = (x[c] - mean) * rstd;
            float dnorm = weight[c] * dout[c];
            dbias[c] += dout[c];
            dweight[c] += norm * dout[c];
            dinp[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd;
        }
    }
}

/* ---- matmul (OpenBLAS, row-major; leading dimensions select the slice) ---- */

static void gpt2_cpu_matmul_fwd(const gpt2_op_t *op)
{
    const int C = op->C, OC = op->OC, rows = op->bt1 - op->bt0, noc = op->oc1 - op->oc0;
    float *out = op->u.matmul_fwd.out + (size_t)op->bt0 * OC + op->oc0;
    const float *bias = op->u.matmul_fwd.bias;
    float beta = 0.0f;
    if (bias) {
        /* SGEMM adds to C with beta = 1: start each output row from the bias */
        for (int r = 0; r < rows; r++) {
            float *restrict o = out + (size_t)r * OC;
            const float *restrict b = bias + op->oc0;
            for (int j = 0; j < noc; j++)
                o[j] = b[j];
        }
        beta = 1.0f;
    }
    /* out[rows, noc] = inp[rows, C] . weight[noc, C]^T (+ out) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, noc, C, 1.0f,
                op->u.matmul_fwd.inp + (size_t)op->bt0 * C, C,
                op->u.matmul_fwd.weight + (size_t)op->oc0 * C, C, beta, out, OC);
}

static void gpt2_cpu_matmul_bwd_inp(const gpt2_op_t *op)
{
    const int C = op->C, OC = op->OC, rows = op->bt1 - op->bt0;
    /* dinp[rows, C] += dout[rows, OC] . weight[OC, C] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, C, OC, 1.0f,
                op->u.matmul_bwd_inp.dout + (size_t)op->bt0 * OC, OC, op->u.matmul_bwd_inp.weight,
                C, 1.0f, op->u.matmul_bwd_inp.dinp + (size_t)op->bt0 * C, C);
}

static void gpt2_cpu_matmul_bwd_weight(const gpt2_op_t *op)
{
    const int C = op->C, OC = op->OC, rows = op->bt1 - op->bt0, noc = op->oc1 - op->oc0;
    const float *dout = op->u.matmul_bwd_weight.dout + (size_t)op->bt0 * OC + op->oc0;
    /* dweight[noc, C] += dout[rows, noc]^T . inp[rows, C] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, noc, C, rows, 1.0f, dout, OC,
                op->u.matmul_bwd_weight.inp + (size_t)op->bt0 * C, C, 1.0f,
                op->u.matmul_bwd_weight.dweight + (size_t)op->oc0 * C, C);
    float *dbias = op->u.matmul_bwd_weight.dbias;
    if (!dbias) return;
    /* column sums over the rows, in double (B*T rows can be thousands), walking dout row by row
     * so that memory is read contiguously */
    double sums[256];
    for (int j0 = 0; j0 < noc; j0 += 256) {
        const int n = noc - j0 < 256 ? noc - j0 : 256;
        for (int j = 0; j < n; j++)
            sums[j] = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *restrict d = dout + (size_t)r * OC + j0;
            for (int j = 0; j < n; j++)
                sums[j] += d[j];
        }
        for (int j = 0; j < n; j++)
            dbias[op->oc0 + j0 + j] += (float)sums[j];
    }
}

/* ---- element-wise: GELU (tanh approximation) and residual ---- */

/* GELU is 0.5 x (1 + tanh a) with a = sqrt(2/pi) (x + 0.044715 x^3), as llm.c; and
 * 0.5 (1 + tanh a) = sigmoid(2a), whose derivative term 0.5 sech^2 a = 2 s (1 - s). Computing s
 * from one exp of -2|a| (never overflows) gives the same function as tanhf/coshf to a few ulps,
 * without their cancellation for negative x (1 + tanh a -> 0), at a fifth of the cost: GELU runs
 * over the 4C-wide MLP activations and was as slow as the MLP matmuls. */
static inline float gpt2_cpu_gelu_arg(float x)
{
    return GPT2_CPU_GELU_SCALE * (x + 0.044715f * x * x * x);
}

/* s = sigmoid(2a) and s (1 - s) */
static inline float gpt2_cpu_gelu_sigmoid(float a, float *s_one_minus_s)
{
    const float e = expf(-2.0f * fabsf(a)); /* in [0, 1] */
    const float inv = 1.0f / (1.0f + e);
    *s_one_minus_s = e * inv * inv;
    return a >= 0.0f ? inv : e * inv;
}

static void gpt2_cpu_gelu_fwd(const gpt2_op_t *op)
{
    const size_t lo = (size_t)op->bt0 * op->width, hi = (size_t)op->bt1 * op->width;
    float *restrict out = op->u.gelu_fwd.out;
    const float *restrict inp = op->u.gelu_fwd.inp;
    for (size_t i = lo; i < hi; i++) {
        float x = inp[i], unused;
        out[i] = x * gpt2_cpu_gelu_sigmoid(gpt2_cpu_gelu_arg(x), &unused);
    }
}

static void gpt2_cpu_gelu_bwd(const gpt2_op_t *op)
{
    const size_t lo = (size_t)op->bt0 * op->width, hi = (size_t)op->bt1 * op->width;
    float *restrict dinp = op->u.gelu_bwd.dinp;
    const float *restrict inp = op->u.gelu_bwd.inp;
    const float *restrict dout = op->u.gelu_bwd.dout;
    for (size_t i = lo; i < hi; i++) {
        float x = inp[i], s1ms;
        float s = gpt2_cpu_gelu_sigmoid(gpt2_cpu_gelu_arg(x), &s1ms);
        /* d/dx [x s(a)] = s + x * 0.5 sech^2(a) * da/dx */
        float grad = s + x * 2.0f * s1ms * GPT2_CPU_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += grad * dout[i];
    }
}

static void gpt2_cpu_residual_fwd(const gpt2_op_t *op)
{
    const size_t lo = (size_t)op->bt0 * op->width, hi = (size_t)op->bt1 * op->width;
    float *restrict out = op->u.residual_fwd.out;
    const float *restrict a = op->u.residual_fwd.inp1, *restrict b = op->u.residual_fwd.inp2;
    for (size_t i = lo; i < hi; i++)
        out[i] = a[i] + b[i];
}

static void gpt2_cpu_residual_bwd(const gpt2_op_t *op)
{
    const size_t lo = (size_t)op->bt0 * op->width, hi = (size_t)op->bt1 * op->width;
    float *restrict d1 = op->u.residual_bwd.dinp1, *restrict d2 = op->u.residual_bwd.dinp2;
    const float *restrict dout = op->u.residual_bwd.dout;
    for (size_t i = lo; i < hi; i++) {
        d1[i] += dout[i];
        d2[i] += dout[i];
    }
}

/* ---- softmax and cross-entropy over the (padded) vocabulary ---- */

static void gpt2_cpu_softmax_fwd(const gpt2_op_t *op)
{
    const int V = op->V, Vp = op->Vp;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        const float *restrict logits = op->u.softmax_fwd.logits + (size_t)bt * Vp;
        float *restrict probs = op->u.softmax_fwd.probs + (size_t)bt * Vp;
        float maxval = logits[0];
        for (int i = 1; i < V; i++)
            maxval = logits[i] > maxval ? logits[i] : maxval;
        /* double: 50257 terms of very different size */
        double sum = 0.0;
        for (int i = 0; i < V; i++) {
            probs[i] = expf(logits[i] - maxval);
            sum += probs[i];
        }
        const float inv = (float)(1.0 / sum); /* sum >= 1: the max term is exp(0) */
        for (int i = 0; i < V; i++)
            probs[i] *= inv;
        for (int i = V; i < Vp; i++)
            probs[i] = 0.0f; /* padding never takes probability */
    }
}

static void gpt2_cpu_crossentropy_fwd(const gpt2_op_t *op)
{
    const int Vp = op->Vp;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        const float *probs = op->u.crossentropy_fwd.probs + (size_t)bt * Vp;
        op->u.crossentropy_fwd.losses[bt] = -logf(probs[op->u.crossentropy_fwd.targets[bt]]);
    }
}

static void gpt2_cpu_crossentropy_softmax_bwd(const gpt2_op_t *op)
{
    const int V = op->V, Vp = op->Vp;
    const float dloss = op->u.crossentropy_softmax_bwd.dloss;
    for (int bt = op->bt0; bt < op->bt1; bt++) {
        float *restrict dlogits = op->u.crossentropy_softmax_bwd.dlogits + (size_t)bt * Vp;
        const float *restrict probs = op->u.crossentropy_softmax_bwd.probs + (size_t)bt * Vp;
        const int target = op->u.crossentropy_softmax_bwd.targets[bt];
        for (int i = 0; i < V; i++) {
            float indicator = i == target ? 1.0f : 0.0f;
            dlogits[i] += (probs[i] - indicator) * dloss;
        }
    }
}

/* ---- AdamW ---- */

static void gpt2_cpu_adamw(const gpt2_op_t *op)
{
    const float lr = op->u.adamw.lr, beta1 = op->u.adamw.beta1, beta2 = op->u.adamw.beta2;
    const float eps = op->u.adamw.eps, wd = op->u.adamw.weight_decay;
    /* the bias corrections in float, as llm.c and the device implementations compute them */
    const float bc1 = 1.0f - powf(beta1, (float)op->u.adamw.step);
    const float bc2 = 1.0f - powf(beta2, (float)op->u.adamw.step);
    float *restrict params = op->u.adamw.params;
    float *restrict m = op->u.adamw.m, *restrict v = op->u.adamw.v;
    const float *restrict grads = op->u.adamw.grads;
    for (size_t i = op->u.adamw.i0; i < op->u.adamw.i1; i++) {
        float g = grads[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / bc1, vhat = vi / bc2;
        float p = params[i];
        params[i] = p - lr * (mhat / (sqrtf(vhat) + eps) + wd * p);
    }
}

/* ---- dispatch ---- */

/* Whether ids[bt0..bt1) (tokens, targets) all lie in [0, bound); bound 0 (the op left V and Vp
 * unset, which the encoder kinds do not strictly need) checks nothing. */
static bool gpt2_cpu_ids_valid(const int *ids, int bt0, int bt1, int bound)
{
    for (int bt = bt0; bt < bt1 && bound > 0; bt++)
        if (ids[bt] < 0 || ids[bt] >= bound) return false;
    return true;
}

/* Whether the op's slice lies inside its shape, and its token ids inside the vocabulary. A
 * graph builder or data bug must not become an access outside the arenas, so a malformed op is
 * refused (with a line on stderr) rather than run. */
static bool gpt2_cpu_valid(const gpt2_op_t *op)
{
    const int vocab = op->Vp > op->V ? op->Vp : op->V; /* wte has Vp rows */
    const int BT = op->B * op->T;
    if (op->B <= 0 || op->T <= 0) return op->kind == GPT2_OP_ADAMW;
    if (op->kind == GPT2_OP_ADAMW) return true;
    if (op->bt0 < 0 || op->bt1 > BT || op->bt0 > op->bt1) return false;
    switch (op->kind) {
    case GPT2_OP_ENCODER_FWD:
        return op->C > 0 && gpt2_cpu_ids_valid(op->u.encoder_fwd.tokens, op->bt0, op->bt1, vocab);
    case GPT2_OP_ENCODER_BWD:
        return op->C > 0 && op->oc0 >= 0 && op->oc0 <= op->oc1 && op->oc1 <= op->C &&
               gpt2_cpu_ids_valid(op->u.encoder_bwd.tokens, op->bt0, op->bt1, vocab);
    case GPT2_OP_MATMUL_FWD:
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        return op->C > 0 && op->oc0 >= 0 && op->oc0 <= op->oc1 && op->oc1 <= op->OC;
    case GPT2_OP_MATMUL_BWD_INP:
        return op->C > 0 && op->OC > 0;
    case GPT2_OP_ATTENTION_FWD:
    case GPT2_OP_ATTENTION_BWD:
        return op->NH > 0 && op->C > 0 && op->C % op->NH == 0 && op->h0 >= 0 && op->h0 <= op->h1 &&
               op->h1 <= op->NH;
    case GPT2_OP_SOFTMAX_FWD:
        return op->V > 0 && op->V <= op->Vp;
    case GPT2_OP_CROSSENTROPY_FWD:
        return op->V > 0 && op->V <= op->Vp &&
               gpt2_cpu_ids_valid(op->u.crossentropy_fwd.targets, op->bt0, op->bt1, op->V);
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        return op->V > 0 && op->V <= op->Vp &&
               gpt2_cpu_ids_valid(op->u.crossentropy_softmax_bwd.targets, op->bt0, op->bt1, op->V);
    case GPT2_OP_GELU_FWD:
    case GPT2_OP_GELU_BWD:
    case GPT2_OP_RESIDUAL_FWD:
    case GPT2_OP_RESIDUAL_BWD:
        return op->width >= 0;
    default:
        return op->C > 0;
    }
}

void gpt2_cpu_run(const gpt2_op_t *op)
{
    if ((int)op->kind < 0 || op->kind >= GPT2_OP_COUNT || !gpt2_cpu_valid(op)) {
        fprintf(stderr, "gpt2_cpu: refusing a malformed %s op (rows %d..%d of %dx%d)\n",
                gpt2_op_name(op->kind), op->bt0, op->bt1, op->B, op->T);
        return;
    }
    /* a program that forgot gpt2_cpu_init must not get an OpenBLAS thread per core */
    gpt2_cpu_init();
    switch (op->kind) {
    case GPT2_OP_ENCODER_FWD:
        gpt2_cpu_encoder_fwd(op);
        break;
    case GPT2_OP_ENCODER_BWD:
        gpt2_cpu_encoder_bwd(op);
        break;
    case GPT2_OP_LAYERNORM_FWD:
        gpt2_cpu_layernorm_fwd(op);
        break;
    case GPT2_OP_LAYERNORM_BWD:
        gpt2_cpu_layernorm_bwd(op);
        break;
    case GPT2_OP_MATMUL_FWD:
        if (op->bt0 < op->bt1 && op->oc0 < op->oc1) gpt2_cpu_matmul_fwd(op);
        break;
    case GPT2_OP_MATMUL_BWD_INP:
        if (op->bt0 < op->bt1) gpt2_cpu_matmul_bwd_inp(op);
        break;
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        if (op->bt0 < op->bt1 && op->oc0 < op->oc1) gpt2_cpu_matmul_bwd_weight(op);
        break;
    case GPT2_OP_ATTENTION_FWD:
        gpt2_cpu_attention_fwd(op);
        break;
    case GPT2_OP_ATTENTION_BWD:
        gpt2_cpu_attention_bwd(op);
        break;
    case GPT2_OP_GELU_FWD:
        gpt2_cpu_gelu_fwd(op);
        break;
    case GPT2_OP_GELU_BWD:
        gpt2_cpu_gelu_bwd(op);
        break;
    case GPT2_OP_RESIDUAL_FWD:
        gpt2_cpu_residual_fwd(op);
        break;
    case GPT2_OP_RESIDUAL_BWD:
        gpt2_cpu_residual_bwd(op);
        break;
    case GPT2_OP_SOFTMAX_FWD:
        gpt2_cpu_softmax_fwd(op);
        break;
    case GPT2_OP_CROSSENTROPY_FWD:
        gpt2_cpu_crossentropy_fwd(op);
        break;
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        gpt2_cpu_crossentropy_softmax_bwd(op);
        break;
    case GPT2_OP_ADAMW:
        gpt2_cpu_adamw(op);
        break;
    default:
        break;
    }
}
