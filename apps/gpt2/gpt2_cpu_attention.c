/*
 * gpt2_cpu_attention.c: causal multi-head attention on the CPU, forward and backward, for one
 * slice of rows and heads (gpt2_ops.h, GPT2_OP_ATTENTION_FWD/BWD). The math is llm.c's
 * attention_forward/attention_backward, with two deliberate differences that change no result
 * beyond rounding:
 *   - the softmax max starts from the row's first score rather than llm.c's -10000, so a row
 *     whose scores are all below -10000 still normalises;
 *   - the softmax backward uses sum_t2 att[t2] * (t2 == t3 - att[t3]) * datt[t2]
 *     = att[t3] * (datt[t3] - sum_t2 att[t2] * datt[t2]), which is O(T) per row instead of
 *     llm.c's O(T^2) (the OpenCL and CUDA kernels rearrange it the same way).
 *
 * Each (row, head) pair owns its preatt/att/datt/dpreatt row and its q (and out) columns, so a
 * split by heads is bit-exact. The backward also accumulates key and value gradients into earlier
 * rows of the batch in decreasing t: a split by rows whose slices run from the last to the first
 * repeats the full op's order exactly; run in another order it agrees up to rounding.
 *
 * Slices are expected in one batch (gpt2_ops.h); a slice that crosses a batch boundary is
 * processed as one sub-slice per batch, which is what the contract would mean for it.
 */
#include "gpt2_cpu_attention.h"

#include <math.h>
#include <stddef.h>

/* Float dot product of two head vectors (hs is small: 64 in GPT-2). */
static inline float gpt2_cpu_attention_dot(const float *restrict a, const float *restrict b, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* y += a * x over one head vector; y and x never alias (gradients vs activations). */
static inline void gpt2_cpu_attention_axpy(float *restrict y, const float *restrict x, float a,
                                           int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* Forward of rows [bt0, bt1), all in batch b. */
static void gpt2_cpu_attention_fwd_batch(const gpt2_op_t *op, int b, int bt0, int bt1)
{
    const int T = op->T, C = op->C, NH = op->NH, hs = C / NH;
    const size_t C3 = (size_t)3 * C;
    const float scale = 1.0f / sqrtf((float)hs);
    const float *inp = op->u.attention_fwd.inp;
    const float *batch = inp + (size_t)b * T * C3; /* qkv row 0 of the batch */
    for (int bt = bt0; bt < bt1; bt++) {
        const int t = bt - b * T;
        for (int h = op->h0; h < op->h1; h++) {
            const size_t arow = (((size_t)b * NH + h) * T + t) * T;
            float *preatt = op->u.attention_fwd.preatt + arow;
            float *att = op->u.attention_fwd.att + arow;
            const float *q = inp + (size_t)bt * C3 + (size_t)h * hs;

            float maxval = 0.0f;
            for (int t2 = 0; t2 <= t; t2++) {
                const float *k = batch + (size_t)t2 * C3 + C + (size_t)h * hs;
                float s = gpt2_cpu_attention_dot(q, k, hs) * scale;
                preatt[t2] = s;
                if (t2 == 0 || s > maxval) maxval = s;
            }
            /* subtract the max so that exp cannot overflow; sum in double because a long
             * causal row adds many terms of very different size */
            double sum = 0.0;
            for (int t2 = 0; t2 <= t; t2++) {
                float e = expf(preatt[t2] - maxval);
                att[t2] = e;
                sum += e;
            }
            /* sum >= 1 (the max term is exp(0)), unless the scores were NaN */
            const float inv = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
            for (int t2 = 0; t2 <= t; t2++)
                att[t2] *= inv;
            for (int t2 = t + 1; t2 < T; t2++)
                att[t2] = 0.0f; /* causal mask: the backward reads whole rows */

            float *out = op->u.attention_fwd.out + (size_t)bt * C + (size_t)h * hs;
            for (int i = 0; i < hs; i++)
                out[i] = 0.0f;
            for (int t2 = 0; t2 <= t; t2++) {
                const float *v = batch + (size_t)t2 * C3 + 2 * (size_t)C + (size_t)h * hs;
                gpt2_cpu_attention_axpy(out, v, att[t2], hs);
            }
        }
    }
}

void gpt2_cpu_attention_fwd(const gpt2_op_t *op)
{
    const int T = op->T;
    for (int bt = op->bt0; bt < op->bt1;) {
        int b = bt / T, end = (b + 1) * T < op->bt1 ? (b + 1) * T : op->bt1;
        gpt2_cpu_attention_fwd_batch(op, b, bt, end);
        bt = end;
    }
}

/* Backward of rows [bt0, bt1), all in batch b, in decreasing t as llm.c. */
static void gpt2_cpu_attention_bwd_batch(const gpt2_op_t *op, int b, int bt0, int bt1)
{
    const int T = op->T, C = op->C, NH = op->NH, hs = C / NH;
    const size_t C3 = (size_t)3 * C;
    const float scale = 1.0f / sqrtf((float)hs);
    const float *inp = op->u.attention_bwd.inp;
    const float *batch = inp + (size_t)b * T * C3;
    float *dbatch = op->u.attention_bwd.dinp + (size_t)b * T * C3;
    for (int bt = bt1 - 1; bt >= bt0; bt--) {
        const int t = bt - b * T;
        for (int h = op->h0; h < op->h1; h++) {
            const size_t arow = (((size_t)b * NH + h) * T + t) * T;
            const float *att = op->u.attention_bwd.att + arow;
            float *datt = op->u.attention_bwd.datt + arow;
            float *dpreatt = op->u.attention_bwd.dpreatt + arow;
            const size_t hoff = (size_t)h * hs;
            const float *dout = op->u.attention_bwd.dout + (size_t)bt * C + hoff;

            /* out = sum att * v: datt[t2] = v_t2 . dout, dv_t2 += att[t2] * dout */
            for (int t2 = 0; t2 <= t; t2++) {
                const size_t voff = (size_t)t2 * C3 + 2 * (size_t)C + hoff;
                datt[t2] = gpt2_cpu_attention_dot(batch + voff, dout, hs);
                gpt2_cpu_attention_axpy(dbatch + voff, dout, att[t2], hs);
            }
            for (int t2 = t + 1; t2 < T; t2++)
                datt[t2] = 0.0f;

            /* softmax backward in its O(T) form (see the top of the file) */
            double dot = 0.0;
            for (int t2 = 0; t2 <= t; t2++)
                dot += (double)att[t2] * datt[t2];
            const float fdot = (float)dot;
            for (int t2 = 0; t2 <= t; t2++)
                dpreatt[t2] = att[t2] * (datt[t2] - fdot);
            for (int t2 = t + 1; t2 < T; t2++)
                dpreatt[t2] = 0.0f;

            /* preatt = scale * q . k: dq += scale * dpreatt * k, dk += scale * dpreatt * q */
            const float *q = inp + (size_t)bt * C3 + hoff;
            float *dq = op->u.attention_bwd.dinp + (size_t)bt * C3 + hoff;
            for (int t2 = 0; t2 <= t; t2++) {
                const size_t koff = (size_t)t2 * C3 + C + hoff;
                const float g = dpreatt[t2] * scale;
                gpt2_cpu_attention_axpy(dq, batch + koff, g, hs);
                gpt2_cpu_attention_axpy(dbatch + koff, q, g, hs);
            }
        }
    }
}

void gpt2_cpu_attention_bwd(const gpt2_op_t *op)
{
    const int T = op->T;
    /* batches from the last, so that rows stay in decreasing order overall */
    for (int bt = op->bt1; bt > op->bt0;) {
        int b = (bt - 1) / T, start = b * T > op->bt0 ? b * T : op->bt0;
        gpt2_cpu_attention_bwd_batch(op, b, start, bt);
        bt = start;
    }
}
