/*
 * test_gpt2_cpu.c: the CPU reference of the GPT-2 ops (gpt2_cpu_run), which the OpenCL and CUDA
 * implementations are compared with, so it is checked on its own here (its slicing invariance is
 * test_gpt2_cpu_slices.c):
 *
 *   1. gradients: every backward op against central finite differences of a scalar loss
 *      L = sum(w * out) (random w) through the matching forward op(s), on tiny shapes (B=2, T=4,
 *      C=8, NH=2, V=10, Vp=12, OC=12). The ops are float, the loss is summed in double, and the
 *      step is eps = 1e-2 on inputs of size ~1: the truncation error (eps^2/6 * f''' ~ 2e-5) and
 *      the rounding error (float outputs ~6e-8 relative, over 2*eps: ~3e-5) are then both well
 *      under the tolerance |fd - analytic| <= 2e-4 + 2e-3 * max(|fd|, |analytic|); the largest
 *      error seen is ~2e-5, printed per tensor. (eps = 1e-3 makes the rounding term ten times
 *      larger for no gain.)
 *   2. known values: matmul and attention forward against double loops written here from the
 *      formulas (a consistent layout error would pass the gradient checks), softmax rows sum to 1
 *      with zero padding and no overflow, cross-entropy of a uniform distribution is log V, AdamW
 *      against a hand computation, layernorm output has mean 0 and variance 1 before the affine
 *      part, GELU and its derivative against llm.c's tanh formula in double, op names, malformed
 *      slices and out-of-vocabulary ids refused without writing, OpenBLAS held to one thread.
 *   3. threads: two threads run the QKV matmul and attention of their own sequence side by side
 *      and get the same bits as one thread (the kernels and OpenBLAS keep no shared state; this
 *      is the test that matters under TSan).
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpt2_cpu_test.h"
#include "gpt2_ops.h"

#include <cblas.h> /* openblas_get_num_threads */

/* ---- 1. gradients by central finite differences ---- */

#define FD_B   2
#define FD_T   4
#define FD_BT  (FD_B * FD_T)
#define FD_C   8
#define FD_NH  2
#define FD_V   10
#define FD_VP  12
#define FD_OC  12
#define FD_EPS 1e-2f
#define FD_ABS 2e-4
#define FD_REL 2e-3

static gpt2_op_t fd_op(gpt2_op_kind_t kind)
{
    return (gpt2_op_t){.kind = kind,
                       .B = FD_B,
                       .T = FD_T,
                       .C = FD_C,
                       .NH = FD_NH,
                       .V = FD_V,
                       .Vp = FD_VP,
                       .OC = FD_OC,
                       .width = FD_C,
                       .bt0 = 0,
                       .bt1 = FD_BT,
                       .oc0 = 0,
                       .oc1 = FD_OC,
                       .h0 = 0,
                       .h1 = FD_NH};
}

/* The forward ops of a loss, run in order, and the weighted sum of their output. */
typedef struct {
    gpt2_op_t ops[4];
    int nops;
    const float *out, *w;
    size_t nout;
} fd_loss_t;

static double fd_eval(const fd_loss_t *l)
{
    for (int k = 0; k < l->nops; k++)
        gpt2_cpu_run(&l->ops[k]);
    double sum = 0.0;
    for (size_t i = 0; i < l->nout; i++)
        sum += (double)l->w[i] * l->out[i];
    return sum;
}

/* Compares grad[i] with (L(x+h) - L(x-h)) / 2h for every element of x; the step actually taken
 * is what float can represent, so it is measured rather than assumed. */
static void fd_check(const char *what, const fd_loss_t *l, float *x, const float *grad, size_t n)
{
    int bad = 0;
    double max_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float x0 = x[i];
        x[i] = x0 + FD_EPS;
        const double hp = x[i], lp = fd_eval(l);
        x[i] = x0 - FD_EPS;
        const double hm = x[i], lm = fd_eval(l);
        x[i] = x0;
        const double fd = (lp - lm) / (hp - hm), an = grad[i];
        const double err = fabs(fd - an);
        if (err > max_err) max_err = err;
        if (err > FD_ABS + FD_REL * fmax(fabs(fd), fabs(an)) && bad++ < 5)
            fprintf(stderr, "  %s[%zu]: finite difference %.7g, backward op %.7g\n", what, i, fd,
                    an);
    }
    fd_eval(l); /* leave the forward outputs as they were */
    printf("  %-22s %4zu elements, largest |fd - analytic| %.2e\n", what, n, max_err);
    assert_int_equal(bad, 0);
}

static void test_grad_encoder(void **state)
{
    rng_seed(1);
    float *wte = alloc_floats(FD_V * FD_C), *wpe = alloc_floats(FD_T * FD_C);
    float *out = alloc_floats(FD_BT * FD_C), *w = alloc_floats(FD_BT * FD_C);
    float *dwte = alloc_floats(FD_V * FD_C), *dwpe = alloc_floats(FD_T * FD_C);
    int tokens[FD_BT] = {0, 2, 2, 1, 0, 0, 3, 2}; /* repeated tokens accumulate */
    fill_signed(wte, FD_V * FD_C, 1.0f);
    fill_signed(wpe, FD_T * FD_C, 1.0f);
    fill_signed(w, FD_BT * FD_C, 1.0f);

    fd_loss_t l = {.nops = 1, .out = out, .w = w, .nout = FD_BT * FD_C};
    l.ops[0] = fd_op(GPT2_OP_ENCODER_FWD);
    l.ops[0].u.encoder_fwd.out = out;
    l.ops[0].u.encoder_fwd.tokens = tokens;
    l.ops[0].u.encoder_fwd.wte = wte;
    l.ops[0].u.encoder_fwd.wpe = wpe;
    fd_eval(&l);

    gpt2_op_t bwd = fd_op(GPT2_OP_ENCODER_BWD);
    bwd.oc0 = 0;
    bwd.oc1 = FD_C;
    bwd.u.encoder_bwd.dwte = dwte;
    bwd.u.encoder_bwd.dwpe = dwpe;
    bwd.u.encoder_bwd.dout = w;
    bwd.u.encoder_bwd.tokens = tokens;
    gpt2_cpu_run(&bwd);

    fd_check("encoder wte", &l, wte, dwte, FD_V * FD_C);
    fd_check("encoder wpe", &l, wpe, dwpe, FD_T * FD_C);
    free(wte), free(wpe), free(out), free(w), free(dwte), free(dwpe);
}

static void test_grad_layernorm(void **state)
{
    rng_seed(2);
    const size_t n = FD_BT * FD_C;
    float *inp = alloc_floats(n), *weight = alloc_floats(FD_C), *bias = alloc_floats(FD_C);
    float *out = alloc_floats(n), *mean = alloc_floats(FD_BT), *rstd = alloc_floats(FD_BT);
    float *w = alloc_floats(n), *dinp = alloc_floats(n), *dweight = alloc_floats(FD_C);
    float *dbias = alloc_floats(FD_C);
    fill_signed(inp, n, 1.0f);
    fill_signed(weight, FD_C, 1.0f);
    fill_signed(bias, FD_C, 1.0f);
    fill_signed(w, n, 1.0f);

    fd_loss_t l = {.nops = 1, .out = out, .w = w, .nout = n};
    l.ops[0] = fd_op(GPT2_OP_LAYERNORM_FWD);
    l.ops[0].u.layernorm_fwd.out = out;
    l.ops[0].u.layernorm_fwd.mean = mean;
    l.ops[0].u.layernorm_fwd.rstd = rstd;
    l.ops[0].u.layernorm_fwd.inp = inp;
    l.ops[0].u.layernorm_fwd.weight = weight;
    l.ops[0].u.layernorm_fwd.bias = bias;
    fd_eval(&l);

    gpt2_op_t bwd = fd_op(GPT2_OP_LAYERNORM_BWD);
    bwd.u.layernorm_bwd.dinp = dinp;
    bwd.u.layernorm_bwd.dweight = dweight;
    bwd.u.layernorm_bwd.dbias = dbias;
    bwd.u.layernorm_bwd.dout = w;
    bwd.u.layernorm_bwd.inp = inp;
    bwd.u.layernorm_bwd.weight = weight;
    bwd.u.layernorm_bwd.mean = mean;
    bwd.u.layernorm_bwd.rstd = rstd;
    gpt2_cpu_run(&bwd);

    fd_check("layernorm inp", &l, inp, dinp, n);
    fd_check("layernorm weight", &l, weight, dweight, FD_C);
    fd_check("layernorm bias", &l, bias, dbias, FD_C);
    free(inp), free(weight), free(bias), free(out), free(mean), free(rstd), free(w), free(dinp);
    free(dweight), free(dbias);
}

static void test_grad_matmul(void **state)
{
    rng_seed(3);
    float *inp = alloc_floats(FD_BT * FD_C), *weight = alloc_floats(FD_OC * FD_C);
    float *bias = alloc_floats(FD_OC), *out = alloc_floats(FD_BT * FD_OC);
    float *w = alloc_floats(FD_BT * FD_OC), *dinp = alloc_floats(FD_BT * FD_C);
    float *dweight = alloc_floats(FD_OC * FD_C), *dbias = alloc_floats(FD_OC);
    fill_signed(inp, FD_BT * FD_C, 1.0f);
    fill_signed(weight, FD_OC * FD_C, 1.0f);
    fill_signed(bias, FD_OC, 1.0f);
    fill_signed(w, FD_BT * FD_OC, 1.0f);

    fd_loss_t l = {.nops = 1, .out = out, .w = w, .nout = FD_BT * FD_OC};
    l.ops[0] = fd_op(GPT2_OP_MATMUL_FWD);
    l.ops[0].u.matmul_fwd.out = out;
    l.ops[0].u.matmul_fwd.inp = inp;
    l.ops[0].u.matmul_fwd.weight = weight;
    l.ops[0].u.matmul_fwd.bias = bias;
    fd_eval(&l);

    gpt2_op_t bi = fd_op(GPT2_OP_MATMUL_BWD_INP);
    bi.u.matmul_bwd_inp.dinp = dinp;
    bi.u.matmul_bwd_inp.dout = w;
    bi.u.matmul_bwd_inp.weight = weight;
    gpt2_cpu_run(&bi);
    gpt2_op_t bw = fd_op(GPT2_OP_MATMUL_BWD_WEIGHT);
    bw.u.matmul_bwd_weight.dweight = dweight;
    bw.u.matmul_bwd_weight.dbias = dbias;
    bw.u.matmul_bwd_weight.dout = w;
    bw.u.matmul_bwd_weight.inp = inp;
    gpt2_cpu_run(&bw);

    fd_check("matmul inp", &l, inp, dinp, FD_BT * FD_C);
    fd_check("matmul weight", &l, weight, dweight, FD_OC * FD_C);
    fd_check("matmul bias", &l, bias, dbias, FD_OC);
    free(inp), free(weight), free(bias), free(out), free(w), free(dinp), free(dweight);
    free(dbias);
}

static void test_grad_attention(void **state)
{
    rng_seed(4);
    const size_t nqkv = FD_BT * 3 * FD_C, natt = FD_B * FD_NH * FD_T * FD_T;
    float *qkv = alloc_floats(nqkv), *out = alloc_floats(FD_BT * FD_C);
    float *preatt = alloc_floats(natt), *att = alloc_floats(natt), *w = alloc_floats(FD_BT * FD_C);
    float *dqkv = alloc_floats(nqkv), *dpreatt = alloc_floats(natt), *datt = alloc_floats(natt);
    fill_signed(qkv, nqkv, 1.5f); /* scores of a few units: a softmax far from uniform */
    fill_signed(w, FD_BT * FD_C, 1.0f);

    /* the contract keeps a slice inside one batch: one op per batch */
    fd_loss_t l = {.nops = FD_B, .out = out, .w = w, .nout = FD_BT * FD_C};
    for (int b = 0; b < FD_B; b++) {
        gpt2_op_t *op = &l.ops[b];
        *op = fd_op(GPT2_OP_ATTENTION_FWD);
        op->bt0 = b * FD_T;
        op->bt1 = (b + 1) * FD_T;
        op->u.attention_fwd.out = out;
        op->u.attention_fwd.preatt = preatt;
        op->u.attention_fwd.att = att;
        op->u.attention_fwd.inp = qkv;
    }
    fd_eval(&l);
    for (int b = 0; b < FD_B; b++) {
        gpt2_op_t bwd = fd_op(GPT2_OP_ATTENTION_BWD);
        bwd.bt0 = b * FD_T;
        bwd.bt1 = (b + 1) * FD_T;
        bwd.u.attention_bwd.dinp = dqkv;
        bwd.u.attention_bwd.dpreatt = dpreatt;
        bwd.u.attention_bwd.datt = datt;
        bwd.u.attention_bwd.dout = w;
        bwd.u.attention_bwd.inp = qkv;
        bwd.u.attention_bwd.att = att;
        gpt2_cpu_run(&bwd);
    }
    fd_check("attention qkv", &l, qkv, dqkv, nqkv);
    free(qkv), free(out), free(preatt), free(att), free(w), free(dqkv), free(dpreatt), free(datt);
}

static void test_grad_gelu(void **state)
{
    rng_seed(5);
    const size_t n = FD_BT * FD_C;
    float *inp = alloc_floats(n), *out = alloc_floats(n), *w = alloc_floats(n);
    float *dinp = alloc_floats(n);
    fill_signed(inp, n, 3.0f); /* the curved part of GELU */
    fill_signed(w, n, 1.0f);
    fd_loss_t l = {.nops = 1, .out = out, .w = w, .nout = n};
    l.ops[0] = fd_op(GPT2_OP_GELU_FWD);
    l.ops[0].u.gelu_fwd.out = out;
    l.ops[0].u.gelu_fwd.inp = inp;
    fd_eval(&l);
    gpt2_op_t bwd = fd_op(GPT2_OP_GELU_BWD);
    bwd.u.gelu_bwd.dinp = dinp;
    bwd.u.gelu_bwd.inp = inp;
    bwd.u.gelu_bwd.dout = w;
    gpt2_cpu_run(&bwd);
    fd_check("gelu inp", &l, inp, dinp, n);
    free(inp), free(out), free(w), free(dinp);
}

static void test_grad_residual(void **state)
{
    rng_seed(6);
    const size_t n = FD_BT * FD_C;
    float *a = alloc_floats(n), *b = alloc_floats(n), *out = alloc_floats(n);
    float *w = alloc_floats(n), *da = alloc_floats(n), *db = alloc_floats(n);
    fill_signed(a, n, 1.0f);
    fill_signed(b, n, 1.0f);
    fill_signed(w, n, 1.0f);
    fd_loss_t l = {.nops = 1, .out = out, .w = w, .nout = n};
    l.ops[0] = fd_op(GPT2_OP_RESIDUAL_FWD);
    l.ops[0].u.residual_fwd.out = out;
    l.ops[0].u.residual_fwd.inp1 = a;
    l.ops[0].u.residual_fwd.inp2 = b;
    fd_eval(&l);
    gpt2_op_t bwd = fd_op(GPT2_OP_RESIDUAL_BWD);
    bwd.u.residual_bwd.dinp1 = da;
    bwd.u.residual_bwd.dinp2 = db;
    bwd.u.residual_bwd.dout = w;
    gpt2_cpu_run(&bwd);
    fd_check("residual inp1", &l, a, da, n);
    fd_check("residual inp2", &l, b, db, n);
    free(a), free(b), free(out), free(w), free(da), free(db);
}

/* softmax + cross-entropy, the mean loss over the rows: its backward is one op */
static void test_grad_crossentropy_softmax(void **state)
{
    rng_seed(7);
    const size_t n = FD_BT * FD_VP;
    const float pad = 42.0f;
    float *logits = alloc_floats(n), *probs = alloc_floats(n), *losses = alloc_floats(FD_BT);
    float *w = alloc_floats(FD_BT), *dlogits = alloc_floats(n), *expect = alloc_floats(n);
    int targets[FD_BT] = {0, 9, 3, 3, 7, 1, 5, 2};
    fill_signed(logits, n, 2.0f);
    for (int bt = 0; bt < FD_BT; bt++) {
        w[bt] = 1.0f / FD_BT;
        for (int i = FD_V; i < FD_VP; i++)
            dlogits[bt * FD_VP + i] = pad;
    }
    fd_loss_t l = {.nops = 2, .out = losses, .w = w, .nout = FD_BT};
    l.ops[0] = fd_op(GPT2_OP_SOFTMAX_FWD);
    l.ops[0].u.softmax_fwd.probs = probs;
    l.ops[0].u.softmax_fwd.logits = logits;
    l.ops[1] = fd_op(GPT2_OP_CROSSENTROPY_FWD);
    l.ops[1].u.crossentropy_fwd.losses = losses;
    l.ops[1].u.crossentropy_fwd.probs = probs;
    l.ops[1].u.crossentropy_fwd.targets = targets;
    fd_eval(&l);
    gpt2_op_t bwd = fd_op(GPT2_OP_CROSSENTROPY_SOFTMAX_BWD);
    bwd.u.crossentropy_softmax_bwd.dlogits = dlogits;
    bwd.u.crossentropy_softmax_bwd.probs = probs;
    bwd.u.crossentropy_softmax_bwd.targets = targets;
    bwd.u.crossentropy_softmax_bwd.dloss = 1.0f / FD_BT;
    gpt2_cpu_run(&bwd);
    /* the padded columns are untouched; the loss does not depend on their logits */
    for (int bt = 0; bt < FD_BT; bt++)
        for (int i = 0; i < FD_VP; i++) {
            float g = dlogits[bt * FD_VP + i];
            if (i >= FD_V) assert_true(g == pad);
            expect[bt * FD_VP + i] = i < FD_V ? g : 0.0f;
        }
    fd_check("crossentropy logits", &l, logits, expect, n);
    free(logits), free(probs), free(losses), free(w), free(dlogits), free(expect);
}

/* ---- 2. known values ---- */

/* matmul forward against double loops, on a partial slice: elements outside stay untouched */
static void test_matmul_values(void **state)
{
    enum { BT = 7, C = 13, OC = 21, R0 = 2, R1 = 6, O0 = 3, O1 = 17 };
    float inp[BT * C], weight[OC * C], bias[OC], out[BT * OC], before[BT * OC];
    rng_seed(20);
    fill_signed(inp, BT * C, 1.0f);
    fill_signed(weight, OC * C, 1.0f);
    fill_signed(bias, OC, 1.0f);
    fill_signed(out, BT * OC, 1.0f);
    memcpy(before, out, sizeof(out));
    gpt2_op_t op = {.kind = GPT2_OP_MATMUL_FWD,
                    .B = 1,
                    .T = BT,
                    .C = C,
                    .OC = OC,
                    .bt0 = R0,
                    .bt1 = R1,
                    .oc0 = O0,
                    .oc1 = O1};
    op.u.matmul_fwd.out = out;
    op.u.matmul_fwd.inp = inp;
    op.u.matmul_fwd.weight = weight;
    op.u.matmul_fwd.bias = bias;
    gpt2_cpu_run(&op);
    for (int bt = 0; bt < BT; bt++)
        for (int oc = 0; oc < OC; oc++) {
            const float got = out[bt * OC + oc];
            if (bt < R0 || bt >= R1 || oc < O0 || oc >= O1) {
                assert_true(memcmp(&got, &before[bt * OC + oc], sizeof(got)) == 0);
                continue;
            }
            double want = bias[oc];
            for (int c = 0; c < C; c++)
                want += (double)inp[bt * C + c] * weight[oc * C + c];
            assert_near(got, want, 1e-5 * (1.0 + fabs(want)));
        }
}

/* attention forward against double loops from the formula: causal softmax of q.k/sqrt(hs) */
static void test_attention_values(void **state)
{
    enum { B = 2, T = 5, C = 12, NH = 3, HS = C / NH };
    static float qkv[B * T * 3 * C], out[B * T * C], preatt[B * NH * T * T], att[B * NH * T * T];
    rng_seed(21);
    fill_signed(qkv, B * T * 3 * C, 2.0f);
    for (int i = 0; i < B * NH * T * T; i++)
        preatt[i] = att[i] = 99.0f; /* above the diagonal: preatt untouched, att 0 */
    for (int b = 0; b < B; b++) {
        gpt2_op_t op = {.kind = GPT2_OP_ATTENTION_FWD,
                        .B = B,
                        .T = T,
                        .C = C,
                        .NH = NH,
                        .bt0 = b * T,
                        .bt1 = (b + 1) * T,
                        .h0 = 0,
                        .h1 = NH};
        op.u.attention_fwd.out = out;
        op.u.attention_fwd.preatt = preatt;
        op.u.attention_fwd.att = att;
        op.u.attention_fwd.inp = qkv;
        gpt2_cpu_run(&op);
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                const float *q = qkv + (b * T + t) * 3 * C + h * HS;
                const float *arow = att + ((b * NH + h) * T + t) * T;
                const float *prow = preatt + ((b * NH + h) * T + t) * T;
                double score[T], maxs = -INFINITY, sum = 0.0, asum = 0.0;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float *k = qkv + (b * T + t2) * 3 * C + C + h * HS;
                    score[t2] = 0.0;
                    for (int i = 0; i < HS; i++)
                        score[t2] += (double)q[i] * k[i];
                    score[t2] /= sqrt(HS);
                    maxs = fmax(maxs, score[t2]);
                    assert_near(prow[t2], score[t2], 1e-5 * (1.0 + fabs(score[t2])));
                }
                for (int t2 = 0; t2 <= t; t2++)
                    sum += exp(score[t2] - maxs);
                for (int t2 = 0; t2 < T; t2++) {
                    if (t2 > t) {
                        assert_true(arow[t2] == 0.0f && prow[t2] == 99.0f);
                        continue;
                    }
                    assert_near(arow[t2], exp(score[t2] - maxs) / sum, 1e-6);
                    asum += arow[t2];
                }
                assert_near(asum, 1.0, 1e-6);
                for (int i = 0; i < HS; i++) {
                    double want = 0.0;
                    for (int t2 = 0; t2 <= t; t2++)
                        want += exp(score[t2] - maxs) / sum *
                                qkv[(b * T + t2) * 3 * C + 2 * C + h * HS + i];
                    assert_near(out[(b * T + t) * C + h * HS + i], want, 1e-5);
                }
            }
}

static void test_softmax_values(void **state)
{
    enum { BT = 3, V = 7, VP = 8 };
    float logits[BT * VP], probs[BT * VP];
    rng_seed(22);
    fill_signed(logits, BT * VP, 5.0f);
    logits[VP + 2] = 1000.0f;   /* no overflow: the max is subtracted */
    logits[2 * VP + V] = 1e30f; /* the padding is not part of the softmax */
    for (int i = 0; i < BT * VP; i++)
        probs[i] = -1.0f;
    gpt2_op_t op = {.kind = GPT2_OP_SOFTMAX_FWD, .B = 1, .T = BT, .V = V, .Vp = VP, .bt1 = BT};
    op.u.softmax_fwd.probs = probs;
    op.u.softmax_fwd.logits = logits;
    gpt2_cpu_run(&op);
    for (int bt = 0; bt < BT; bt++) {
        double sum = 0.0;
        for (int i = 0; i < V; i++) {
            float p = probs[bt * VP + i];
            assert_true(p >= 0.0f && p <= 1.0f);
            sum += p;
        }
        assert_near(sum, 1.0, 1e-6);
        for (int i = V; i < VP; i++)
            assert_true(probs[bt * VP + i] == 0.0f);
    }
    assert_near(probs[VP + 2], 1.0, 1e-6);
}

/* equal logits: every probability is 1/V and every loss log V */
static void test_crossentropy_uniform(void **state)
{
    enum { BT = 4, V = 50, VP = 64 };
    static float logits[BT * VP], probs[BT * VP];
    float losses[BT];
    int targets[BT] = {0, 49, 17, 17};
    for (int i = 0; i < BT * VP; i++)
        logits[i] = 3.25f;
    gpt2_op_t op = {.kind = GPT2_OP_SOFTMAX_FWD, .B = 1, .T = BT, .V = V, .Vp = VP, .bt1 = BT};
    op.u.softmax_fwd.probs = probs;
    op.u.softmax_fwd.logits = logits;
    gpt2_cpu_run(&op);
    gpt2_op_t ce = op;
    ce.kind = GPT2_OP_CROSSENTROPY_FWD;
    ce.u.crossentropy_fwd.losses = losses;
    ce.u.crossentropy_fwd.probs = probs;
    ce.u.crossentropy_fwd.targets = targets;
    gpt2_cpu_run(&ce);
    for (int bt = 0; bt < BT; bt++)
        assert_near(losses[bt], log(V), 1e-6 * log(V));
}

/* one step at step 1 and one at step 4 against the formula evaluated in double */
static void test_adamw_values(void **state)
{
    float params[4] = {0.5f, -1.0f, 2.0f, 0.0f}, m[4] = {0, 0, 0.1f, -0.2f};
    float v[4] = {0, 0, 0.01f, 0.04f};
    const float grads[4] = {0.1f, -0.3f, 0.0f, 1.5f};
    const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
    for (int step = 1; step <= 4; step += 3) {
        float p0[4], m0[4], v0[4];
        memcpy(p0, params, sizeof(p0)), memcpy(m0, m, sizeof(m0)), memcpy(v0, v, sizeof(v0));
        gpt2_op_t op = {.kind = GPT2_OP_ADAMW};
        op.u.adamw =
            (__typeof__(op.u.adamw)){params,    m,         v,         grads,      1,         4,
                                     (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, step};
        gpt2_cpu_run(&op);
        /* parameter 0 is outside [i0, i1) */
        assert_true(params[0] == p0[0] && m[0] == m0[0] && v[0] == v0[0]);
        for (int i = 1; i < 4; i++) {
            double g = grads[i];
            double mi = b1 * m0[i] + (1 - b1) * g, vi = b2 * v0[i] + (1 - b2) * g * g;
            double mhat = mi / (1 - pow(b1, step)), vhat = vi / (1 - pow(b2, step));
            double p = p0[i] - lr * (mhat / (sqrt(vhat) + eps) + wd * p0[i]);
            assert_near(m[i], mi, 1e-7);
            assert_near(v[i], vi, 1e-7);
            assert_near(params[i], p, 1e-6);
        }
    }
    /* step 1 by hand for parameter 1: m = 0.1 * -0.3, v = 0.05 * 0.09, mhat = -0.3,
     * vhat = 0.09, update = 1e-2 * (-0.3 / 0.3 + 0.1 * -1) = -0.011: p = -1 + 0.011 */
    float p1 = -1.0f, m1 = 0, v1 = 0;
    const float g1 = -0.3f;
    gpt2_op_t op = {.kind = GPT2_OP_ADAMW};
    op.u.adamw =
        (__typeof__(op.u.adamw)){&p1, &m1, &v1, &g1, 0, 1, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1};
    gpt2_cpu_run(&op);
    assert_near(p1, -0.989, 1e-6);
}

/* with weight 1 and bias 0 each row has mean 0 and variance var/(var+1e-5); a large common
 * offset (1000) must not cost accuracy */
static void test_layernorm_values(void **state)
{
    enum { BT = 4, C = 64 };
    float inp[BT * C], out[BT * C], mean[BT], rstd[BT], weight[C], bias[C];
    rng_seed(23);
    fill_signed(inp, BT * C, 2.0f);
    for (int c = 0; c < C; c++) {
        inp[2 * C + c] += 1000.0f;
        weight[c] = 1.0f;
        bias[c] = 0.0f;
    }
    gpt2_op_t op = {.kind = GPT2_OP_LAYERNORM_FWD, .B = 1, .T = BT, .C = C, .bt1 = BT};
    op.u.layernorm_fwd = (__typeof__(op.u.layernorm_fwd)){out, mean, rstd, inp, weight, bias};
    gpt2_cpu_run(&op);
    for (int bt = 0; bt < BT; bt++) {
        double m = 0.0, var = 0.0, om = 0.0, ov = 0.0;
        for (int c = 0; c < C; c++)
            m += inp[bt * C + c];
        m /= C;
        for (int c = 0; c < C; c++)
            var += (inp[bt * C + c] - m) * (inp[bt * C + c] - m);
        var /= C;
        for (int c = 0; c < C; c++)
            om += out[bt * C + c];
        om /= C;
        for (int c = 0; c < C; c++)
            ov += (out[bt * C + c] - om) * (out[bt * C + c] - om);
        ov /= C;
        /* the mean is saved as a float, and out is computed from it: a mean of 1000 is off by
         * up to half an ulp (3e-5), which shifts the output by that much times rstd */
        assert_near(om, 0.0, 1e-6 + FLT_EPSILON * fabs(m) * rstd[bt]);
        assert_near(ov, var / (var + 1e-5), 1e-5);
        assert_near(mean[bt], m, 1e-6 * (1.0 + fabs(m)));
        assert_near(rstd[bt], 1.0 / sqrt(var + 1e-5), 1e-5);
    }
}

/* GELU and its derivative against llm.c's tanh formula in double over [-10, 10] (the CPU
 * kernel computes 0.5 (1 + tanh a) as a sigmoid: the same function), plus 0 at 0, x for large
 * x, 0 for very negative x, and finite gradients where cosh would overflow */
static void test_gelu_values(void **state)
{
    enum { N = 2001 };
    static float x[N], y[N], dx[N], dy[N];
    for (int i = 0; i < N; i++) {
        x[i] = -10.0f + 20.0f * (float)i / (N - 1);
        dy[i] = 1.0f;
    }
    x[N - 3] = 20.0f, x[N - 2] = -20.0f, x[N - 1] = -100.0f;
    gpt2_op_t op = {.kind = GPT2_OP_GELU_FWD, .B = 1, .T = 1, .width = N, .bt1 = 1};
    op.u.gelu_fwd.out = y;
    op.u.gelu_fwd.inp = x;
    gpt2_cpu_run(&op);
    op.kind = GPT2_OP_GELU_BWD;
    op.u.gelu_bwd.dinp = dx;
    op.u.gelu_bwd.inp = x;
    op.u.gelu_bwd.dout = dy;
    gpt2_cpu_run(&op);
    const double k = sqrt(2.0 / M_PI);
    for (int i = 0; i < N; i++) {
        double xi = x[i], a = k * (xi + 0.044715 * xi * xi * xi), th = tanh(a);
        double want = 0.5 * xi * (1 + th);
        double dwant = 0.5 * (1 + th) + xi * 0.5 * (1 - th * th) * k * (1 + 3 * 0.044715 * xi * xi);
        assert_near(y[i], want, 1e-6 * (1.0 + fabs(want)));
        assert_near(dx[i], dwant, 1e-6 * (1.0 + fabs(dwant)));
    }
    assert_true(y[N / 2] == 0.0f && y[N - 3] == 20.0f && fabsf(y[N - 1]) < 1e-30f);
    assert_true(dx[N / 2] == 0.5f && dx[N - 3] == 1.0f && dx[N - 1] == 0.0f);
}

static void test_op_names(void **state)
{
    for (int k = 0; k < GPT2_OP_COUNT; k++) {
        const char *name = gpt2_op_name((gpt2_op_kind_t)k);
        assert_non_null(name);
        assert_string_not_equal(name, "unknown");
        for (int j = 0; j < k; j++)
            assert_string_not_equal(name, gpt2_op_name((gpt2_op_kind_t)j));
    }
    assert_string_equal(gpt2_op_name(GPT2_OP_MATMUL_FWD), "matmul_fwd");
    assert_string_equal(gpt2_op_name(GPT2_OP_COUNT), "unknown");
    assert_string_equal(gpt2_op_name((gpt2_op_kind_t)-1), "unknown");
}

/* a slice outside its shape, or a token outside the vocabulary, is refused rather than run (it
 * would read or write outside the arena) */
static void test_malformed_refused(void **state)
{
    float out[4 * 2], inp[4 * 2];
    for (int i = 0; i < 8; i++)
        out[i] = inp[i] = 1.0f;
    gpt2_op_t op = {.kind = GPT2_OP_RESIDUAL_FWD, .B = 1, .T = 2, .width = 2, .bt0 = 0, .bt1 = 4};
    op.u.residual_fwd.out = out;
    op.u.residual_fwd.inp1 = inp;
    op.u.residual_fwd.inp2 = inp;
    gpt2_cpu_run(&op); /* rows 0..4 of a 1x2 batch */
    for (int i = 0; i < 8; i++)
        assert_true(out[i] == 1.0f);
    op.bt1 = 2; /* the same op, well-formed */
    gpt2_cpu_run(&op);
    assert_true(out[0] == 2.0f && out[3] == 2.0f && out[4] == 1.0f);

    /* tokens and targets: V = 3, Vp = 4 */
    float wte[4 * 2] = {0, 1, 2, 3, 4, 5, 6, 7}, wpe[2 * 2] = {0}, enc[2 * 2] = {-1, -1, -1, -1};
    int tokens[2] = {3, 4};
    gpt2_op_t e = {.kind = GPT2_OP_ENCODER_FWD, .B = 1, .T = 2, .C = 2, .V = 3, .Vp = 4, .bt1 = 2};
    e.u.encoder_fwd = (__typeof__(e.u.encoder_fwd)){enc, tokens, wte, wpe};
    gpt2_cpu_run(&e); /* token 4 is past wte's Vp rows */
    assert_true(enc[0] == -1.0f && enc[3] == -1.0f);
    tokens[1] = 3; /* a padding row of wte: readable */
    gpt2_cpu_run(&e);
    assert_true(enc[0] == 6.0f && enc[3] == 7.0f);

    float probs[2 * 4] = {0.5f, 0.25f, 0.25f, 0, 0.5f, 0.25f, 0.25f, 0}, losses[2] = {-1, -1};
    int targets[2] = {0, 3};
    gpt2_op_t ce = e;
    ce.kind = GPT2_OP_CROSSENTROPY_FWD;
    ce.u.crossentropy_fwd = (__typeof__(ce.u.crossentropy_fwd)){losses, probs, targets};
    gpt2_cpu_run(&ce); /* target 3 is not a token (V = 3) */
    assert_true(losses[0] == -1.0f && losses[1] == -1.0f);
    targets[1] = 1;
    gpt2_cpu_run(&ce);
    assert_near(losses[1], log(4.0), 1e-6);
}

/* gpt2_cpu_init holds OpenBLAS to one thread: the daemon owns the cores */
static void test_openblas_one_thread(void **state)
{
    gpt2_cpu_init();
    assert_int_equal(openblas_get_num_threads(), 1);
}

/* ---- 3. threads: the kernels keep no state, so tasks on disjoint slices run side by side ---- */

#define TH_B  2
#define TH_T  16
#define TH_C  64
#define TH_NH 4
#define TH_OC 192

typedef struct {
    float inp[TH_B * TH_T * TH_C], weight[TH_OC * TH_C], bias[TH_OC];
    float out[TH_B * TH_T * TH_OC]; /* the matmul's output is attention's qkv (OC = 3C) */
    float att_out[TH_B * TH_T * TH_C], preatt[TH_B * TH_NH * TH_T * TH_T];
    float att[TH_B * TH_NH * TH_T * TH_T];
} th_world_t;

typedef struct {
    th_world_t *wd;
    int b; /* the batch (sequence) this thread owns */
} th_arg_t;

/* one sequence: the QKV matmul on its rows, then attention on them */
static void *th_body(void *p)
{
    const th_arg_t *arg = p;
    th_world_t *wd = arg->wd;
    for (int rep = 0; rep < 10; rep++) {
        gpt2_op_t mm = {.kind = GPT2_OP_MATMUL_FWD,
                        .B = TH_B,
                        .T = TH_T,
                        .C = TH_C,
                        .NH = TH_NH,
                        .OC = TH_OC,
                        .bt0 = arg->b * TH_T,
                        .bt1 = (arg->b + 1) * TH_T,
                        .oc0 = 0,
                        .oc1 = TH_OC};
        mm.u.matmul_fwd = (__typeof__(mm.u.matmul_fwd)){wd->out, wd->inp, wd->weight, wd->bias};
        gpt2_cpu_run(&mm);
        gpt2_op_t at = mm;
        at.kind = GPT2_OP_ATTENTION_FWD;
        at.h0 = 0;
        at.h1 = TH_NH;
        at.u.attention_fwd =
            (__typeof__(at.u.attention_fwd)){wd->att_out, wd->preatt, wd->att, wd->out};
        gpt2_cpu_run(&at);
    }
    return NULL;
}

static void test_threads(void **state)
{
    th_world_t *serial = malloc(sizeof(*serial)), *parallel = malloc(sizeof(*parallel));
    assert_non_null(serial), assert_non_null(parallel);
    rng_seed(30);
    fill_signed((float *)serial, sizeof(*serial) / sizeof(float), 1.0f);
    memcpy(parallel, serial, sizeof(*serial));
    th_arg_t args[TH_B];
    pthread_t threads[TH_B];
    for (int b = 0; b < TH_B; b++) {
        args[b] = (th_arg_t){serial, b};
        th_body(&args[b]);
    }
    for (int b = 0; b < TH_B; b++) {
        args[b] = (th_arg_t){parallel, b};
        assert_int_equal(pthread_create(&threads[b], NULL, th_body, &args[b]), 0);
    }
    for (int b = 0; b < TH_B; b++)
        assert_int_equal(pthread_join(threads[b], NULL), 0);
    assert_memory_equal(serial, parallel, sizeof(*serial));
    free(serial), free(parallel);
}

int main(void)
{
    gpt2_cpu_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_encoder),
        cmocka_unit_test(test_grad_layernorm),
        cmocka_unit_test(test_grad_matmul),
        cmocka_unit_test(test_grad_attention),
        cmocka_unit_test(test_grad_gelu),
        cmocka_unit_test(test_grad_residual),
        cmocka_unit_test(test_grad_crossentropy_softmax),
        cmocka_unit_test(test_matmul_values),
        cmocka_unit_test(test_attention_values),
        cmocka_unit_test(test_softmax_values),
        cmocka_unit_test(test_crossentropy_uniform),
        cmocka_unit_test(test_adamw_values),
        cmocka_unit_test(test_layernorm_values),
        cmocka_unit_test(test_gelu_values),
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_openblas_one_thread),
    };
    return cmocka_run_group_tests_name("gpt2_cpu", tests, NULL, NULL);
}
