/*
 * test_gpt2_cpu_slices.c: slicing invariance of the CPU GPT-2 ops. The training graph splits
 * every op into slices (rows, output channels, heads, encoder channels, parameter ranges); here
 * every op kind runs as several slices and as one full-range call on the same random values in
 * every tensor (outputs and gradients too, so "+=" and "touches nothing outside the slice" are
 * checked), and the two results are compared:
 *   - bit-exact where a split does not change the order of any sum, which includes attention
 *     backward split by rows when the later slices run first (the full op's own order);
 *   - where it does (SGEMM edge kernels, bias gradients over split rows, key/value gradients with
 *     the earlier slices first), |split - full| <= 1e-5 * (1 + |full|); the test prints the
 *     largest difference it saw (a few 1e-6 at most).
 * Shape: B=2, T=8, C=32, NH=4, V=50, Vp=64, OC=96, element-wise width 4C.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpt2_cpu_test.h"
#include "gpt2_ops.h"

#define SL_B   2
#define SL_T   8
#define SL_BT  (SL_B * SL_T)
#define SL_C   32
#define SL_NH  4
#define SL_V   50
#define SL_VP  64
#define SL_OC  96
#define SL_N   4096 /* floats per tensor: enough for any role (OC*C = 3072 is the largest) */
#define SL_TOL 1e-5

/* Every tensor an op can take, each large enough for any of its roles; an op's union members
 * map to t[0], t[1], ... in declaration order, its int array to ints. */
typedef struct {
    float t[8][SL_N];
    int ints[SL_BT];
} sl_world_t;

typedef struct {
    int bt0, bt1, oc0, oc1, h0, h1;
    size_t i0, i1;
} sl_slice_t;

#define SL_MAX_SLICES 16

/* One invariance case: the full-range call(s), the split, and whether they must agree bitwise. */
typedef struct {
    const char *what;
    gpt2_op_kind_t kind;
    bool no_bias;
    bool exact;
    int nfull, nsplit;
    sl_slice_t full[SL_B];
    sl_slice_t split[SL_MAX_SLICES];
} sl_case_t;

static gpt2_op_t sl_build(const sl_case_t *c, sl_world_t *wd, sl_slice_t s)
{
    gpt2_op_t op = {.kind = c->kind,
                    .B = SL_B,
                    .T = SL_T,
                    .C = SL_C,
                    .NH = SL_NH,
                    .V = SL_V,
                    .Vp = SL_VP,
                    .OC = SL_OC,
                    .width = 4 * SL_C,
                    .bt0 = s.bt0,
                    .bt1 = s.bt1,
                    .oc0 = s.oc0,
                    .oc1 = s.oc1,
                    .h0 = s.h0,
                    .h1 = s.h1};
    float(*t)[SL_N] = wd->t;
    switch (c->kind) {
    case GPT2_OP_ENCODER_FWD:
        op.u.encoder_fwd = (__typeof__(op.u.encoder_fwd)){t[0], wd->ints, t[1], t[2]};
        break;
    case GPT2_OP_ENCODER_BWD:
        op.u.encoder_bwd = (__typeof__(op.u.encoder_bwd)){t[0], t[1], t[2], wd->ints};
        break;
    case GPT2_OP_LAYERNORM_FWD:
        op.u.layernorm_fwd = (__typeof__(op.u.layernorm_fwd)){t[0], t[1], t[2], t[3], t[4], t[5]};
        break;
    case GPT2_OP_LAYERNORM_BWD:
        op.u.layernorm_bwd =
            (__typeof__(op.u.layernorm_bwd)){t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]};
        break;
    case GPT2_OP_MATMUL_FWD:
        op.u.matmul_fwd = (__typeof__(op.u.matmul_fwd)){t[0], t[1], t[2], c->no_bias ? NULL : t[3]};
        break;
    case GPT2_OP_MATMUL_BWD_INP:
        op.u.matmul_bwd_inp = (__typeof__(op.u.matmul_bwd_inp)){t[0], t[1], t[2]};
        break;
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        op.u.matmul_bwd_weight =
            (__typeof__(op.u.matmul_bwd_weight)){t[0], c->no_bias ? NULL : t[1], t[2], t[3]};
        break;
    case GPT2_OP_ATTENTION_FWD:
        op.u.attention_fwd = (__typeof__(op.u.attention_fwd)){t[0], t[1], t[2], t[3]};
        break;
    case GPT2_OP_ATTENTION_BWD:
        op.u.attention_bwd = (__typeof__(op.u.attention_bwd)){t[0], t[1], t[2], t[3], t[4], t[5]};
        break;
    case GPT2_OP_GELU_FWD:
        op.u.gelu_fwd = (__typeof__(op.u.gelu_fwd)){t[0], t[1]};
        break;
    case GPT2_OP_GELU_BWD:
        op.u.gelu_bwd = (__typeof__(op.u.gelu_bwd)){t[0], t[1], t[2]};
        break;
    case GPT2_OP_RESIDUAL_FWD:
        op.u.residual_fwd = (__typeof__(op.u.residual_fwd)){t[0], t[1], t[2]};
        break;
    case GPT2_OP_RESIDUAL_BWD:
        op.u.residual_bwd = (__typeof__(op.u.residual_bwd)){t[0], t[1], t[2]};
        break;
    case GPT2_OP_SOFTMAX_FWD:
        op.u.softmax_fwd = (__typeof__(op.u.softmax_fwd)){t[0], t[1]};
        break;
    case GPT2_OP_CROSSENTROPY_FWD:
        op.u.crossentropy_fwd = (__typeof__(op.u.crossentropy_fwd)){t[0], t[1], wd->ints};
        break;
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        op.u.crossentropy_softmax_bwd =
            (__typeof__(op.u.crossentropy_softmax_bwd)){t[0], t[1], wd->ints, 1.0f / SL_BT};
        break;
    case GPT2_OP_ADAMW:
        op.u.adamw = (__typeof__(op.u.adamw)){.params = t[0],
                                              .m = t[1],
                                              .v = t[2],
                                              .grads = t[3],
                                              .i0 = s.i0,
                                              .i1 = s.i1,
                                              .lr = 1e-3f,
                                              .beta1 = 0.9f,
                                              .beta2 = 0.999f,
                                              .eps = 1e-8f,
                                              .weight_decay = 0.01f,
                                              .step = 7};
        break;
    default:
        break;
    }
    return op;
}

static void sl_fill(sl_world_t *wd, gpt2_op_kind_t kind)
{
    for (int i = 0; i < 8; i++)
        fill_signed(wd->t[i], SL_N, 1.0f);
    for (int bt = 0; bt < SL_BT; bt++) /* tokens < 6 repeat; targets < V */
        wd->ints[bt] =
            (int)((rng_signed() + 1.0f) * 0.5f * (kind == GPT2_OP_ENCODER_BWD ? 6 : SL_V));
    /* the tensors whose values must be positive in their role */
    int positive = kind == GPT2_OP_CROSSENTROPY_FWD ? 1
                   : kind == GPT2_OP_ADAMW          ? 2
                   : kind == GPT2_OP_ATTENTION_BWD  ? 5
                   : kind == GPT2_OP_LAYERNORM_BWD  ? 7
                                                    : -1;
    if (positive >= 0)
        for (int i = 0; i < SL_N; i++)
            wd->t[positive][i] = 0.01f + fabsf(wd->t[positive][i]);
}

static void test_slicing(void **state)
{
    const sl_case_t *c = *state;
    sl_world_t *orig = malloc(sizeof(*orig)), *full = malloc(sizeof(*full));
    sl_world_t *split = malloc(sizeof(*split));
    assert_non_null(orig), assert_non_null(full), assert_non_null(split);
    rng_seed(100 + (uint64_t)c->kind);
    sl_fill(orig, c->kind);
    memcpy(full, orig, sizeof(*orig));
    memcpy(split, orig, sizeof(*orig));
    for (int k = 0; k < c->nfull; k++) {
        gpt2_op_t op = sl_build(c, full, c->full[k]);
        gpt2_cpu_run(&op);
    }
    for (int k = 0; k < c->nsplit; k++) {
        gpt2_op_t op = sl_build(c, split, c->split[k]);
        gpt2_cpu_run(&op);
    }
    /* the full call must have written something, or agreeing proves nothing */
    assert_true(memcmp(full, orig, sizeof(*orig)) != 0);
    assert_memory_equal(full->ints, split->ints, sizeof(full->ints));
    double max_diff = 0.0;
    int bad = 0;
    for (int i = 0; i < 8; i++)
        for (int e = 0; e < SL_N; e++) {
            float a = full->t[i][e], b = split->t[i][e];
            double d = fabs((double)a - b);
            if (d > max_diff) max_diff = d;
            bool ok = c->exact ? memcmp(&a, &b, sizeof(a)) == 0 : d <= SL_TOL * (1.0 + fabs(a));
            if (!ok && bad++ < 5)
                fprintf(stderr, "  %s: tensor %d element %d: full %.9g, split %.9g\n", c->what, i,
                        e, a, b);
        }
    printf("  %-44s %s, largest difference %.2e\n", c->what, c->exact ? "bit-exact" : "tolerance",
           max_diff);
    assert_int_equal(bad, 0);
    free(orig), free(full), free(split);
}

/* a row slice over every output channel and head */
#define SL_ROWS(bt0, bt1)                                                                          \
    {                                                                                              \
        bt0, bt1, 0, SL_OC, 0, SL_NH, 0, 0                                                         \
    }
#define ALL_ROWS SL_ROWS(0, SL_BT)

static const sl_case_t sl_cases[] = {
    {"encoder_fwd rows",
     GPT2_OP_ENCODER_FWD,
     false,
     true,
     1,
     3,
     {ALL_ROWS},
     {SL_ROWS(0, 5), SL_ROWS(5, 11), SL_ROWS(11, SL_BT)}},
    {"encoder_bwd channels",
     GPT2_OP_ENCODER_BWD,
     false,
     true,
     1,
     3,
     {{0, SL_BT, 0, SL_C, 0, 0, 0, 0}},
     {{0, SL_BT, 0, 7, 0, 0, 0, 0},
      {0, SL_BT, 7, 20, 0, 0, 0, 0},
      {0, SL_BT, 20, SL_C, 0, 0, 0, 0}}},
    {"encoder_bwd rows in order, channels",
     GPT2_OP_ENCODER_BWD,
     false,
     true,
     1,
     4,
     {{0, SL_BT, 0, SL_C, 0, 0, 0, 0}},
     {{0, 9, 0, 16, 0, 0, 0, 0},
      {0, 9, 16, SL_C, 0, 0, 0, 0},
      {9, SL_BT, 0, 16, 0, 0, 0, 0},
      {9, SL_BT, 16, SL_C, 0, 0, 0, 0}}},
    {"layernorm_fwd rows",
     GPT2_OP_LAYERNORM_FWD,
     false,
     true,
     1,
     3,
     {ALL_ROWS},
     {SL_ROWS(0, 1), SL_ROWS(1, 8), SL_ROWS(8, SL_BT)}},
    {"layernorm_bwd rows in order",
     GPT2_OP_LAYERNORM_BWD,
     false,
     true,
     1,
     3,
     {ALL_ROWS},
     {SL_ROWS(0, 3), SL_ROWS(3, 10), SL_ROWS(10, SL_BT)}},
    {"matmul_fwd rows x output channels",
     GPT2_OP_MATMUL_FWD,
     false,
     false,
     1,
     6,
     {ALL_ROWS},
     {{0, 5, 0, 17, 0, 0, 0, 0},
      {0, 5, 17, 64, 0, 0, 0, 0},
      {0, 5, 64, SL_OC, 0, 0, 0, 0},
      {5, SL_BT, 0, 17, 0, 0, 0, 0},
      {5, SL_BT, 17, 64, 0, 0, 0, 0},
      {5, SL_BT, 64, SL_OC, 0, 0, 0, 0}}},
    {"matmul_fwd no bias, output channels",
     GPT2_OP_MATMUL_FWD,
     true,
     false,
     1,
     2,
     {ALL_ROWS},
     {{0, SL_BT, 0, 40, 0, 0, 0, 0}, {0, SL_BT, 40, SL_OC, 0, 0, 0, 0}}},
    {"matmul_bwd_inp rows",
     GPT2_OP_MATMUL_BWD_INP,
     false,
     false,
     1,
     3,
     {ALL_ROWS},
     {SL_ROWS(0, 3), SL_ROWS(3, 11), SL_ROWS(11, SL_BT)}},
    {"matmul_bwd_weight output channels",
     GPT2_OP_MATMUL_BWD_WEIGHT,
     false,
     false,
     1,
     3,
     {ALL_ROWS},
     {{0, SL_BT, 0, 5, 0, 0, 0, 0},
      {0, SL_BT, 5, 70, 0, 0, 0, 0},
      {0, SL_BT, 70, SL_OC, 0, 0, 0, 0}}},
    {"matmul_bwd_weight rows x channels, no dbias",
     GPT2_OP_MATMUL_BWD_WEIGHT,
     true,
     false,
     1,
     4,
     {ALL_ROWS},
     {{0, 7, 0, 48, 0, 0, 0, 0},
      {7, SL_BT, 0, 48, 0, 0, 0, 0},
      {0, 7, 48, SL_OC, 0, 0, 0, 0},
      {7, SL_BT, 48, SL_OC, 0, 0, 0, 0}}},
    {"attention_fwd rows x heads",
     GPT2_OP_ATTENTION_FWD,
     false,
     true,
     2,
     6,
     {{0, SL_T, 0, 0, 0, SL_NH, 0, 0}, {SL_T, SL_BT, 0, 0, 0, SL_NH, 0, 0}},
     {{0, 3, 0, 0, 0, 1, 0, 0},
      {0, 3, 0, 0, 1, SL_NH, 0, 0},
      {3, SL_T, 0, 0, 0, SL_NH, 0, 0},
      {SL_T + 5, SL_BT, 0, 0, 2, SL_NH, 0, 0},
      {SL_T, SL_T + 5, 0, 0, 0, SL_NH, 0, 0},
      {SL_T + 5, SL_BT, 0, 0, 0, 2, 0, 0}}},
    {"attention_bwd heads",
     GPT2_OP_ATTENTION_BWD,
     false,
     true,
     2,
     4,
     {{0, SL_T, 0, 0, 0, SL_NH, 0, 0}, {SL_T, SL_BT, 0, 0, 0, SL_NH, 0, 0}},
     {{0, SL_T, 0, 0, 0, 1, 0, 0},
      {0, SL_T, 0, 0, 1, SL_NH, 0, 0},
      {SL_T, SL_BT, 0, 0, 2, SL_NH, 0, 0},
      {SL_T, SL_BT, 0, 0, 0, 2, 0, 0}}},
    /* the full op walks its rows from the last: later slices first repeat its exact order */
    {"attention_bwd rows, later slices first",
     GPT2_OP_ATTENTION_BWD,
     false,
     true,
     2,
     4,
     {{0, SL_T, 0, 0, 0, SL_NH, 0, 0}, {SL_T, SL_BT, 0, 0, 0, SL_NH, 0, 0}},
     {{5, SL_T, 0, 0, 0, SL_NH, 0, 0},
      {0, 5, 0, 0, 0, SL_NH, 0, 0},
      {SL_T + 2, SL_BT, 0, 0, 0, SL_NH, 0, 0},
      {SL_T, SL_T + 2, 0, 0, 0, SL_NH, 0, 0}}},
    {"attention_bwd rows, earlier slices first",
     GPT2_OP_ATTENTION_BWD,
     false,
     false,
     2,
     4,
     {{0, SL_T, 0, 0, 0, SL_NH, 0, 0}, {SL_T, SL_BT, 0, 0, 0, SL_NH, 0, 0}},
     {{0, 5, 0, 0, 0, SL_NH, 0, 0},
      {5, SL_T, 0, 0, 0, SL_NH, 0, 0},
      {SL_T, SL_T + 2, 0, 0, 0, SL_NH, 0, 0},
      {SL_T + 2, SL_BT, 0, 0, 0, SL_NH, 0, 0}}},
    {"gelu_fwd rows",
     GPT2_OP_GELU_FWD,
     false,
     true,
     1,
     2,
     {ALL_ROWS},
     {SL_ROWS(0, 7), SL_ROWS(7, SL_BT)}},
    {"gelu_bwd rows",
     GPT2_OP_GELU_BWD,
     false,
     true,
     1,
     2,
     {ALL_ROWS},
     {SL_ROWS(0, 7), SL_ROWS(7, SL_BT)}},
    {"residual_fwd rows",
     GPT2_OP_RESIDUAL_FWD,
     false,
     true,
     1,
     2,
     {ALL_ROWS},
     {SL_ROWS(0, 7), SL_ROWS(7, SL_BT)}},
    {"residual_bwd rows",
     GPT2_OP_RESIDUAL_BWD,
     false,
     true,
     1,
     2,
     {ALL_ROWS},
     {SL_ROWS(0, 7), SL_ROWS(7, SL_BT)}},
    {"softmax_fwd rows",
     GPT2_OP_SOFTMAX_FWD,
     false,
     true,
     1,
     3,
     {ALL_ROWS},
     {SL_ROWS(0, 4), SL_ROWS(4, 13), SL_ROWS(13, SL_BT)}},
    {"crossentropy_fwd rows",
     GPT2_OP_CROSSENTROPY_FWD,
     false,
     true,
     1,
     2,
     {ALL_ROWS},
     {SL_ROWS(0, 9), SL_ROWS(9, SL_BT)}},
    {"crossentropy_softmax_bwd rows",
     GPT2_OP_CROSSENTROPY_SOFTMAX_BWD,
     false,
     true,
     1,
     2,
     {ALL_ROWS},
     {SL_ROWS(0, 9), SL_ROWS(9, SL_BT)}},
    {"adamw parameter ranges",
     GPT2_OP_ADAMW,
     false,
     true,
     1,
     3,
     {{0, 0, 0, 0, 0, 0, 0, SL_N}},
     {{0, 0, 0, 0, 0, 0, 0, 1000}, {0, 0, 0, 0, 0, 0, 1000, 1001}, {0, 0, 0, 0, 0, 0, 1001, SL_N}}},
};

int main(void)
{
    gpt2_cpu_init();
    struct CMUnitTest tests[sizeof(sl_cases) / sizeof(sl_cases[0])];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(sl_cases) / sizeof(sl_cases[0]); i++) {
        tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_slicing, (void *)&sl_cases[i]);
        tests[n++].name = sl_cases[i].what;
    }
    return _cmocka_run_group_tests("gpt2_cpu_slices", tests, n, NULL, NULL);
}
