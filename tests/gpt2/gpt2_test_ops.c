/*
 * gpt2_test_ops.c: every GPT-2 op kind on a device, compared with the CPU reference.
 *
 * Each case lays its tensors out in one arena that the device can address (a registered or
 * managed allocation), fills them with random values, and keeps two host copies: `orig` (the
 * inputs) and `ref`, on which gpt2_cpu_run computes the expected result. The device op runs as a
 * real device task of a nodus session that declares the arena INOUT; after the task completes
 * every element of the arena is compared with `ref`:
 *   - an element the reference left unchanged must be bitwise unchanged on the device too (this
 *     is how "touches nothing outside its slice" is checked, slices being partial on purpose);
 *   - any other element must agree within |dev - ref| <= abs + rel * |ref|: rel 1e-5 for
 *     element-wise ops (tanh/cosh/exp may differ by a few ulp between libms), 1e-3 with abs 1e-4
 *     for ops that reduce (matmuls, layernorm, softmax, attention), where the device sums in a
 *     different order (tiles, the O(T) softmax backward) than the reference.
 *
 * Then every case runs again, all at once as concurrent tasks on disjoint parts of the arena.
 *
 * Shape: B=2, T=16, C=100, NH=4 (hs=25), V=100, Vp=128, OC=300: no matmul dimension is a multiple
 * of a GEMM tile or of the CPU GEMMs' vector width (8), so every edge and tail is exercised.
 */
#include "gpt2_test_ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GT_B           2
#define GT_T           16
#define GT_C           96
#define GT_NH          4
#define GT_V           100
#define GT_VP          128
#define GT_OC          288
#define GT_BT          (GT_B * GT_T)
#define GT_ARENA_BYTES ((size_t)8 << 20)

/* A tolerance for the elements the op changes. */
typedef struct {
    float abs, rel;
} gpt2_test_tol_t;

static const gpt2_test_tol_t gpt2_test_elementwise = {1e-6f, 1e-5f};
static const gpt2_test_tol_t gpt2_test_reduction = {1e-4f, 1e-3f};

/* One case: the tensors are offsets into the arena, so the same op can point at the device
 * arena or at the reference copy. */
typedef struct {
    size_t used; /* bytes of the arena in use */
    uint64_t rng;
} gpt2_test_case_t;

static float gpt2_test_uniform(gpt2_test_case_t *tc)
{
    tc->rng = tc->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((tc->rng >> 40) & 0xffffff) / (float)0x1000000; /* [0, 1) */
}

/* Allocates n elements of 4 bytes (64-byte aligned) and returns their offset. */
static size_t gpt2_test_alloc(gpt2_test_case_t *tc, size_t n)
{
    size_t off = (tc->used + 63) & ~(size_t)63;
    tc->used = off + n * 4;
    return off;
}

typedef enum { FILL_SIGNED, FILL_POSITIVE, FILL_ZERO } gpt2_test_fill_t;

/* A float tensor of n elements filled with values in [-1, 1), (0.01, 1) or zeros. */
static size_t gpt2_test_floats(gpt2_test_case_t *tc, char *arena, size_t n, gpt2_test_fill_t f)
{
    size_t off = gpt2_test_alloc(tc, n);
    float *p = (float *)(arena + off);
    for (size_t i = 0; i < n; i++)
        p[i] = f == FILL_ZERO       ? 0.0f
               : f == FILL_POSITIVE ? 0.01f + 0.99f * gpt2_test_uniform(tc)
                                    : 2.0f * gpt2_test_uniform(tc) - 1.0f;
    return off;
}

/* An int tensor of n elements in [0, bound). */
static size_t gpt2_test_ints(gpt2_test_case_t *tc, char *arena, size_t n, int bound)
{
    size_t off = gpt2_test_alloc(tc, n);
    int *p = (int *)(arena + off);
    for (size_t i = 0; i < n; i++)
        p[i] = (int)(gpt2_test_uniform(tc) * (float)bound) % bound;
    return off;
}

/* Tensor offsets of a case, and the builder that turns them into an op on some base. */
typedef struct {
    gpt2_op_kind_t kind;
    int bt0, bt1, oc0, oc1, h0, h1;
    size_t i0, i1; /* AdamW */
    bool no_bias;  /* matmul without (d)bias */
    size_t t[8];   /* tensor offsets, in the order of the op's union members */
    const char *what;
} gpt2_test_spec_t;

#define F(i) ((float *)(base + s->t[i]))
#define I(i) ((int *)(base + s->t[i]))

static gpt2_op_t gpt2_test_build(const gpt2_test_spec_t *s, char *base)
{
    gpt2_op_t op = {
        .kind = s->kind,
        .B = GT_B,
        .T = GT_T,
        .C = GT_C,
        .NH = GT_NH,
        .V = GT_V,
        .Vp = GT_VP,
        .OC = GT_OC,
        .width = 4 * GT_C,
        .bt0 = s->bt0,
        .bt1 = s->bt1,
        .oc0 = s->oc0,
        .oc1 = s->oc1,
        .h0 = s->h0,
        .h1 = s->h1,
    };
    switch (s->kind) {
    case GPT2_OP_ENCODER_FWD:
        op.u.encoder_fwd.out = F(0);
        op.u.encoder_fwd.tokens = I(1);
        op.u.encoder_fwd.wte = F(2);
        op.u.encoder_fwd.wpe = F(3);
        break;
    case GPT2_OP_ENCODER_BWD:
        op.u.encoder_bwd.dwte = F(0);
        op.u.encoder_bwd.dwpe = F(1);
        op.u.encoder_bwd.dout = F(2);
        op.u.encoder_bwd.tokens = I(3);
        break;
    case GPT2_OP_LAYERNORM_FWD:
        op.u.layernorm_fwd.out = F(0);
        op.u.layernorm_fwd.mean = F(1);
        op.u.layernorm_fwd.rstd = F(2);
        op.u.layernorm_fwd.inp = F(3);
        op.u.layernorm_fwd.weight = F(4);
        op.u.layernorm_fwd.bias = F(5);
        break;
    case GPT2_OP_LAYERNORM_BWD:
        op.u.layernorm_bwd.dinp = F(0);
        op.u.layernorm_bwd.dweight = F(1);
        op.u.layernorm_bwd.dbias = F(2);
        op.u.layernorm_bwd.dout = F(3);
        op.u.layernorm_bwd.inp = F(4);
        op.u.layernorm_bwd.weight = F(5);
        op.u.layernorm_bwd.mean = F(6);
        op.u.layernorm_bwd.rstd = F(7);
        break;
    case GPT2_OP_MATMUL_FWD:
        op.u.matmul_fwd.out = F(0);
        op.u.matmul_fwd.inp = F(1);
        op.u.matmul_fwd.weight = F(2);
        op.u.matmul_fwd.bias = s->no_bias ? NULL : F(3);
        break;
    case GPT2_OP_MATMUL_BWD_INP:
        op.u.matmul_bwd_inp.dinp = F(0);
        op.u.matmul_bwd_inp.dout = F(1);
        op.u.matmul_bwd_inp.weight = F(2);
        break;
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        op.u.matmul_bwd_weight.dweight = F(0);
        op.u.matmul_bwd_weight.dbias = s->no_bias ? NULL : F(1);
        op.u.matmul_bwd_weight.dout = F(2);
        op.u.matmul_bwd_weight.inp = F(3);
        break;
    case GPT2_OP_ATTENTION_FWD:
        op.u.attention_fwd.out = F(0);
        op.u.attention_fwd.preatt = F(1);
        op.u.attention_fwd.att = F(2);
        op.u.attention_fwd.inp = F(3);
        break;
    case GPT2_OP_ATTENTION_BWD:
        op.u.attention_bwd.dinp = F(0);
        op.u.attention_bwd.dpreatt = F(1);
        op.u.attention_bwd.datt = F(2);
        op.u.attention_bwd.dout = F(3);
        op.u.attention_bwd.inp = F(4);
        op.u.attention_bwd.att = F(5);
        break;
    case GPT2_OP_GELU_FWD:
        op.u.gelu_fwd.out = F(0);
        op.u.gelu_fwd.inp = F(1);
        break;
    case GPT2_OP_GELU_BWD:
        op.u.gelu_bwd.dinp = F(0);
        op.u.gelu_bwd.inp = F(1);
        op.u.gelu_bwd.dout = F(2);
        break;
    case GPT2_OP_RESIDUAL_FWD:
        op.u.residual_fwd.out = F(0);
        op.u.residual_fwd.inp1 = F(1);
        op.u.residual_fwd.inp2 = F(2);
        break;
    case GPT2_OP_RESIDUAL_BWD:
        op.u.residual_bwd.dinp1 = F(0);
        op.u.residual_bwd.dinp2 = F(1);
        op.u.residual_bwd.dout = F(2);
        break;
    case GPT2_OP_SOFTMAX_FWD:
        op.u.softmax_fwd.probs = F(0);
        op.u.softmax_fwd.logits = F(1);
        break;
    case GPT2_OP_CROSSENTROPY_FWD:
        op.u.crossentropy_fwd.losses = F(0);
        op.u.crossentropy_fwd.probs = F(1);
        op.u.crossentropy_fwd.targets = I(2);
        break;
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        op.u.crossentropy_softmax_bwd.dlogits = F(0);
        op.u.crossentropy_softmax_bwd.probs = F(1);
        op.u.crossentropy_softmax_bwd.targets = I(2);
        op.u.crossentropy_softmax_bwd.dloss = 1.0f / GT_BT;
        break;
    case GPT2_OP_ADAMW:
        op.u.adamw.params = F(0);
        op.u.adamw.m = F(1);
        op.u.adamw.v = F(2);
        op.u.adamw.grads = F(3);
        op.u.adamw.i0 = s->i0;
        op.u.adamw.i1 = s->i1;
        op.u.adamw.lr = 1e-3f;
        op.u.adamw.beta1 = 0.9f;
        op.u.adamw.beta2 = 0.999f;
        op.u.adamw.eps = 1e-8f;
        op.u.adamw.weight_decay = 0.01f;
        op.u.adamw.step = 3;
        break;
    default:
        break;
    }
    return op;
}

#undef F
#undef I

/* Lays out and fills the tensors of spec `s` (kind and slice already set) in `arena`. */
static void gpt2_test_fill(gpt2_test_spec_t *s, gpt2_test_case_t *tc, char *arena)
{
    const size_t BT = GT_BT, C = GT_C, att = (size_t)GT_B * GT_NH * GT_T * GT_T;
    size_t *t = s->t;
    switch (s->kind) {
    case GPT2_OP_ENCODER_FWD:
    case GPT2_OP_ENCODER_BWD:
        if (s->kind == GPT2_OP_ENCODER_FWD) {
            t[0] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
            t[1] = gpt2_test_ints(tc, arena, BT, GT_V);
            t[2] = gpt2_test_floats(tc, arena, GT_V * C, FILL_SIGNED);
            t[3] = gpt2_test_floats(tc, arena, GT_T * C, FILL_SIGNED);
        } else {
            t[0] = gpt2_test_floats(tc, arena, GT_V * C, FILL_SIGNED);
            t[1] = gpt2_test_floats(tc, arena, GT_T * C, FILL_SIGNED);
            t[2] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
            t[3] = gpt2_test_ints(tc, arena, BT, 6); /* repeated tokens accumulate */
        }
        break;
    case GPT2_OP_LAYERNORM_FWD:
        t[0] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, BT, FILL_SIGNED);
        t[2] = gpt2_test_floats(tc, arena, BT, FILL_SIGNED);
        t[3] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        t[4] = gpt2_test_floats(tc, arena, C, FILL_SIGNED);
        t[5] = gpt2_test_floats(tc, arena, C, FILL_SIGNED);
        break;
    case GPT2_OP_LAYERNORM_BWD:
        for (int i = 0; i < 6; i++)
            t[i] =
                gpt2_test_floats(tc, arena, i == 1 || i == 2 || i == 5 ? C : BT * C, FILL_SIGNED);
        t[6] = gpt2_test_floats(tc, arena, BT, FILL_SIGNED);
        t[7] = gpt2_test_floats(tc, arena, BT, FILL_POSITIVE);
        break;
    case GPT2_OP_MATMUL_FWD:
        t[0] = gpt2_test_floats(tc, arena, BT * GT_OC, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        t[2] = gpt2_test_floats(tc, arena, (size_t)GT_OC * C, FILL_SIGNED);
        t[3] = gpt2_test_floats(tc, arena, GT_OC, FILL_SIGNED);
        break;
    case GPT2_OP_MATMUL_BWD_INP:
        t[0] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, BT * GT_OC, FILL_SIGNED);
        t[2] = gpt2_test_floats(tc, arena, (size_t)GT_OC * C, FILL_SIGNED);
        break;
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        t[0] = gpt2_test_floats(tc, arena, (size_t)GT_OC * C, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, GT_OC, FILL_SIGNED);
        t[2] = gpt2_test_floats(tc, arena, BT * GT_OC, FILL_SIGNED);
        t[3] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        break;
    case GPT2_OP_ATTENTION_FWD:
        t[0] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, att, FILL_SIGNED);
        t[2] = gpt2_test_floats(tc, arena, att, FILL_SIGNED);
        t[3] = gpt2_test_floats(tc, arena, BT * 3 * C, FILL_SIGNED);
        break;
    case GPT2_OP_ATTENTION_BWD:
        t[0] = gpt2_test_floats(tc, arena, BT * 3 * C, FILL_SIGNED);
        /* dpreatt and datt are scratch the op writes; zeros, so that an implementation may
         * leave or zero the entries above the diagonal */
        t[1] = gpt2_test_floats(tc, arena, att, FILL_ZERO);
        t[2] = gpt2_test_floats(tc, arena, att, FILL_ZERO);
        t[3] = gpt2_test_floats(tc, arena, BT * C, FILL_SIGNED);
        t[4] = gpt2_test_floats(tc, arena, BT * 3 * C, FILL_SIGNED);
        t[5] = gpt2_test_floats(tc, arena, att, FILL_POSITIVE);
        break;
    case GPT2_OP_GELU_FWD:
    case GPT2_OP_GELU_BWD:
    case GPT2_OP_RESIDUAL_FWD:
    case GPT2_OP_RESIDUAL_BWD:
        for (int i = 0; i < 3; i++)
            t[i] = gpt2_test_floats(tc, arena, BT * 4 * C, FILL_SIGNED);
        break;
    case GPT2_OP_SOFTMAX_FWD:
        t[0] = gpt2_test_floats(tc, arena, BT * GT_VP, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, BT * GT_VP, FILL_SIGNED);
        break;
    case GPT2_OP_CROSSENTROPY_FWD:
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        t[0] = gpt2_test_floats(tc, arena, s->kind == GPT2_OP_CROSSENTROPY_FWD ? BT : BT * GT_VP,
                                FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, BT * GT_VP, FILL_POSITIVE);
        t[2] = gpt2_test_ints(tc, arena, BT, GT_V);
        break;
    case GPT2_OP_ADAMW:
        t[0] = gpt2_test_floats(tc, arena, 5000, FILL_SIGNED);
        t[1] = gpt2_test_floats(tc, arena, 5000, FILL_SIGNED);
        t[2] = gpt2_test_floats(tc, arena, 5000, FILL_POSITIVE);
        t[3] = gpt2_test_floats(tc, arena, 5000, FILL_SIGNED);
        break;
    default:
        break;
    }
}

/* The device body: the op and the implementation to call. */
typedef struct {
    const gpt2_test_backend_t *be;
    const gpt2_op_t *op;
} gpt2_test_task_t;

static void gpt2_test_body(void *arg)
{
    const gpt2_test_task_t *task = arg;
    task->be->run(task->op);
}

int gpt2_test_ops_submit(nodus_t *n, const gpt2_test_backend_t *be, const gpt2_op_t *op,
                         void *arena, size_t bytes)
{
    nodus_task_attr_t *attr = NULL;
    int rc = nodus_task_attr_create(&attr);
    if (rc != 0) return rc;
    gpt2_test_task_t task = {be, op};
    nodus_access_t acc = {arena, bytes, NODUS_INOUT};
    rc = nodus_task_attr_set_impl(attr, be->kind, gpt2_test_body);
    if (rc == 0) rc = nodus_task_attr_set_label(attr, "gpt2_test_op");
    if (rc == 0) rc = nodus_submit(n, NULL, &task, &acc, 1, attr);
    if (rc == 0) rc = nodus_taskwait(n);
    nodus_task_attr_destroy(attr);
    return rc;
}

/* Compares the device arena with the reference; returns the number of bad elements. */
static int gpt2_test_compare(const char *dev, const char *ref, const char *orig, size_t bytes,
                             gpt2_test_tol_t tol, const char *what)
{
    int bad = 0;
    for (size_t e = 0; e + 4 <= bytes; e += 4) {
        float d, r;
        memcpy(&d, dev + e, 4);
        memcpy(&r, ref + e, 4);
        bool changed = memcmp(ref + e, orig + e, 4) != 0;
        bool ok = changed ? fabsf(d - r) <= tol.abs + tol.rel * fabsf(r)
                          : memcmp(dev + e, orig + e, 4) == 0;
        if (!ok && bad++ < 5)
            fprintf(stderr, "  %s: byte offset %zu: device %.9g, reference %.9g%s\n", what, e, d, r,
                    changed ? "" : " (outside the op's output: must be untouched)");
    }
    return bad;
}

/* Element-wise ops compute each output from a few inputs; the others sum in their own order. */
static gpt2_test_tol_t gpt2_test_tol(gpt2_op_kind_t kind)
{
    switch (kind) {
    case GPT2_OP_ENCODER_FWD:
    case GPT2_OP_GELU_FWD:
    case GPT2_OP_GELU_BWD:
    case GPT2_OP_RESIDUAL_FWD:
    case GPT2_OP_RESIDUAL_BWD:
    case GPT2_OP_CROSSENTROPY_FWD:
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
    case GPT2_OP_ADAMW:
        return gpt2_test_elementwise;
    default:
        return gpt2_test_reduction;
    }
}

/* Runs one case: fills, computes the reference, runs the device op, compares. */
static int gpt2_test_one(nodus_t *n, const gpt2_test_backend_t *be, char *arena, char *ref,
                         char *orig, gpt2_test_spec_t s, uint64_t seed)
{
    gpt2_test_case_t tc = {0, seed};
    gpt2_test_fill(&s, &tc, arena);
    if (tc.used > GT_ARENA_BYTES) {
        fprintf(stderr, "%s: case %s does not fit the arena\n", be->name, s.what);
        return 1;
    }
    memcpy(orig, arena, tc.used);
    memcpy(ref, arena, tc.used);
    gpt2_op_t ref_op = gpt2_test_build(&s, ref);
    gpt2_cpu_run(&ref_op);
    gpt2_op_t dev_op = gpt2_test_build(&s, arena);
    int rc = gpt2_test_ops_submit(n, be, &dev_op, arena, tc.used);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: task failed: %s\n", be->name, s.what, nodus_strerror(rc));
        return 1;
    }
    int bad = gpt2_test_compare(arena, ref, orig, tc.used, gpt2_test_tol(s.kind), s.what);
    /* the reference must have written something, or the comparison proves nothing */
    bool wrote = memcmp(ref, orig, tc.used) != 0;
    printf("%s: %-40s %s\n", be->name, s.what,
           bad     ? "FAIL"
           : wrote ? "ok"
                   : "FAIL (the reference changed nothing)");
    return bad || !wrote ? 1 : 0;
}

#define GT_MAX_CONCURRENT 64

/* Every case at once: each in its own page-aligned part of the arena, all submitted before any
 * is waited for, so that the daemon keeps several in flight on the device's queues or streams
 * and, given enough cores, runs bodies side by side (on a 2-core machine with a CPU OpenCL
 * device one core is held by the device, so bodies there run one at a time). Returns the number
 * of cases that failed. */
static int gpt2_test_concurrent(nodus_t *n, const gpt2_test_backend_t *be, char *arena, char *ref,
                                char *orig, const gpt2_test_spec_t *specs, size_t count)
{
    static gpt2_test_spec_t s[GT_MAX_CONCURRENT];
    static gpt2_op_t dev_ops[GT_MAX_CONCURRENT];
    static gpt2_test_task_t tasks[GT_MAX_CONCURRENT];
    size_t start[GT_MAX_CONCURRENT + 1], used = 0;
    if (count > GT_MAX_CONCURRENT) count = GT_MAX_CONCURRENT;
    for (size_t i = 0; i < count; i++) {
        s[i] = specs[i];
        start[i] = (used + 4095) & ~(size_t)4095;
        gpt2_test_case_t tc = {start[i], 0x2545f4914f6cdd1dull + i};
        gpt2_test_fill(&s[i], &tc, arena);
        used = tc.used;
        if (used > GT_ARENA_BYTES) {
            fprintf(stderr, "%s: the concurrent cases do not fit the arena\n", be->name);
            return 1;
        }
    }
    start[count] = used;
    memcpy(orig, arena, used);
    memcpy(ref, arena, used);
    for (size_t i = 0; i < count; i++) {
        gpt2_op_t ref_op = gpt2_test_build(&s[i], ref);
        gpt2_cpu_run(&ref_op);
    }
    nodus_task_attr_t *attr = NULL;
    int rc = nodus_task_attr_create(&attr);
    if (rc == 0) rc = nodus_task_attr_set_impl(attr, be->kind, gpt2_test_body);
    for (size_t i = 0; i < count && rc == 0; i++) {
        dev_ops[i] = gpt2_test_build(&s[i], arena);
        tasks[i] = (gpt2_test_task_t){be, &dev_ops[i]};
        nodus_access_t acc = {arena + start[i], start[i + 1] - start[i], NODUS_INOUT};
        rc = nodus_submit(n, NULL, &tasks[i], &acc, 1, attr);
    }
    int wrc = nodus_taskwait(n);
    if (rc == 0) rc = wrc;
    nodus_task_attr_destroy(attr);
    if (rc != 0) {
        fprintf(stderr, "%s: concurrent cases: %s\n", be->name, nodus_strerror(rc));
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        size_t off = start[i], len = start[i + 1] - start[i];
        if (gpt2_test_compare(arena + off, ref + off, orig + off, len, gpt2_test_tol(s[i].kind),
                              s[i].what) != 0)
            failed++;
    }
    printf("%s: %-40s %s\n", be->name, "all cases at once", failed ? "FAIL" : "ok");
    return failed;
}

int gpt2_test_ops_all(nodus_t *n, const gpt2_test_backend_t *be)
{
    char *arena = be->alloc(GT_ARENA_BYTES);
    char *ref = malloc(GT_ARENA_BYTES), *orig = malloc(GT_ARENA_BYTES);
    if (!arena || !ref || !orig) {
        fprintf(stderr, "%s: cannot allocate the arenas\n", be->name);
        if (arena) be->release(arena);
        free(ref);
        free(orig);
        return -1;
    }
    const int BT = GT_BT, T = GT_T;
    /* full slices, then partial ones (rows, output channels, heads, parameter ranges) */
    const gpt2_test_spec_t specs[] = {
        {.kind = GPT2_OP_ENCODER_FWD, .bt0 = 0, .bt1 = BT, .what = "encoder_fwd all"},
        {.kind = GPT2_OP_ENCODER_FWD, .bt0 = 5, .bt1 = 27, .what = "encoder_fwd rows 5..27"},
        {.kind = GPT2_OP_ENCODER_BWD,
         .bt0 = 0,
         .bt1 = BT,
         .oc0 = 0,
         .oc1 = GT_C,
         .what = "encoder_bwd all"},
        {.kind = GPT2_OP_ENCODER_BWD,
         .bt0 = 3,
         .bt1 = 20,
         .oc0 = 10,
         .oc1 = 50,
         .what = "encoder_bwd rows 3..20 ch 10..50"},
        {.kind = GPT2_OP_LAYERNORM_FWD, .bt0 = 0, .bt1 = BT, .what = "layernorm_fwd all"},
        {.kind = GPT2_OP_LAYERNORM_FWD, .bt0 = 5, .bt1 = 27, .what = "layernorm_fwd rows 5..27"},
        {.kind = GPT2_OP_LAYERNORM_BWD, .bt0 = 0, .bt1 = BT, .what = "layernorm_bwd all"},
        {.kind = GPT2_OP_LAYERNORM_BWD, .bt0 = 5, .bt1 = 27, .what = "layernorm_bwd rows 5..27"},
        {.kind = GPT2_OP_MATMUL_FWD,
         .bt0 = 0,
         .bt1 = BT,
         .oc0 = 0,
         .oc1 = GT_OC,
         .what = "matmul_fwd all"},
        {.kind = GPT2_OP_MATMUL_FWD,
         .bt0 = 5,
         .bt1 = 27,
         .oc0 = 17,
         .oc1 = 150,
         .what = "matmul_fwd rows 5..27 oc 17..150"},
        {.kind = GPT2_OP_MATMUL_FWD,
         .bt0 = 0,
         .bt1 = BT,
         .oc0 = 0,
         .oc1 = GT_OC,
         .no_bias = true,
         .what = "matmul_fwd no bias"},
        {.kind = GPT2_OP_MATMUL_BWD_INP, .bt0 = 0, .bt1 = BT, .what = "matmul_bwd_inp all"},
        {.kind = GPT2_OP_MATMUL_BWD_INP, .bt0 = 5, .bt1 = 27, .what = "matmul_bwd_inp rows 5..27"},
        {.kind = GPT2_OP_MATMUL_BWD_WEIGHT,
         .bt0 = 0,
         .bt1 = BT,
         .oc0 = 0,
         .oc1 = GT_OC,
         .what = "matmul_bwd_weight all"},
        {.kind = GPT2_OP_MATMUL_BWD_WEIGHT,
         .bt0 = 3,
         .bt1 = 29,
         .oc0 = 17,
         .oc1 = 150,
         .what = "matmul_bwd_weight rows 3..29 oc 17..150"},
        {.kind = GPT2_OP_MATMUL_BWD_WEIGHT,
         .bt0 = 0,
         .bt1 = BT,
         .oc0 = 100,
         .oc1 = 288,
         .no_bias = true,
         .what = "matmul_bwd_weight no dbias"},
        {.kind = GPT2_OP_ATTENTION_FWD,
         .bt0 = 0,
         .bt1 = T,
         .h0 = 0,
         .h1 = GT_NH,
         .what = "attention_fwd batch 0"},
        {.kind = GPT2_OP_ATTENTION_FWD,
         .bt0 = T + 3,
         .bt1 = T + 11,
         .h0 = 1,
         .h1 = 3,
         .what = "attention_fwd b1 t 3..11 heads 1..3"},
        {.kind = GPT2_OP_ATTENTION_BWD,
         .bt0 = 0,
         .bt1 = T,
         .h0 = 0,
         .h1 = GT_NH,
         .what = "attention_bwd batch 0"},
        {.kind = GPT2_OP_ATTENTION_BWD,
         .bt0 = T + 3,
         .bt1 = T + 11,
         .h0 = 1,
         .h1 = 3,
         .what = "attention_bwd b1 t 3..11 heads 1..3"},
        {.kind = GPT2_OP_GELU_FWD, .bt0 = 0, .bt1 = BT, .what = "gelu_fwd all"},
        {.kind = GPT2_OP_GELU_FWD, .bt0 = 5, .bt1 = 27, .what = "gelu_fwd rows 5..27"},
        {.kind = GPT2_OP_GELU_BWD, .bt0 = 0, .bt1 = BT, .what = "gelu_bwd all"},
        {.kind = GPT2_OP_GELU_BWD, .bt0 = 5, .bt1 = 27, .what = "gelu_bwd rows 5..27"},
        {.kind = GPT2_OP_RESIDUAL_FWD, .bt0 = 0, .bt1 = BT, .what = "residual_fwd all"},
        {.kind = GPT2_OP_RESIDUAL_FWD, .bt0 = 5, .bt1 = 27, .what = "residual_fwd rows 5..27"},
        {.kind = GPT2_OP_RESIDUAL_BWD, .bt0 = 0, .bt1 = BT, .what = "residual_bwd all"},
        {.kind = GPT2_OP_RESIDUAL_BWD, .bt0 = 5, .bt1 = 27, .what = "residual_bwd rows 5..27"},
        {.kind = GPT2_OP_SOFTMAX_FWD, .bt0 = 0, .bt1 = BT, .what = "softmax_fwd all"},
        {.kind = GPT2_OP_SOFTMAX_FWD, .bt0 = 5, .bt1 = 27, .what = "softmax_fwd rows 5..27"},
        {.kind = GPT2_OP_CROSSENTROPY_FWD, .bt0 = 0, .bt1 = BT, .what = "crossentropy_fwd all"},
        {.kind = GPT2_OP_CROSSENTROPY_FWD,
         .bt0 = 5,
         .bt1 = 27,
         .what = "crossentropy_fwd rows 5..27"},
        {.kind = GPT2_OP_CROSSENTROPY_SOFTMAX_BWD,
         .bt0 = 0,
         .bt1 = BT,
         .what = "crossentropy_softmax_bwd all"},
        {.kind = GPT2_OP_CROSSENTROPY_SOFTMAX_BWD,
         .bt0 = 5,
         .bt1 = 27,
         .what = "crossentropy_softmax_bwd rows 5..27"},
        {.kind = GPT2_OP_ADAMW, .i0 = 0, .i1 = 5000, .what = "adamw all"},
        {.kind = GPT2_OP_ADAMW, .i0 = 1234, .i1 = 4321, .what = "adamw 1234..4321"},
    };
    int failed = 0;
    bool seen[GPT2_OP_COUNT] = {false};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        failed += gpt2_test_one(n, be, arena, ref, orig, specs[i], 0x9e3779b97f4a7c15ull + i);
        seen[specs[i].kind] = true;
    }
    failed += gpt2_test_concurrent(n, be, arena, ref, orig, specs, sizeof specs / sizeof specs[0]);
    for (int k = 0; k < GPT2_OP_COUNT; k++)
        if (!seen[k]) {
            fprintf(stderr, "%s: op kind %d has no case\n", be->name, k);
            failed++;
        }
    be->release(arena);
    free(ref);
    free(orig);
    return failed;
}
