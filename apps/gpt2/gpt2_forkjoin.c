/*
 * gpt2_forkjoin.c: runs the step's kernel calls (gpt2_plan.c) one after another, each split
 * over the OpenMP threads and joined before the next: rows for the row-wise kernels (matmul
 * forward included: one SGEMM per thread), output channels for matmul_bwd_weight and
 * encoder_bwd, (sequence, head) pairs for attention, and parameter ranges for AdamW. Splits never
 * make two threads accumulate into the same element, except layernorm_bwd's dweight and dbias,
 * which each thread accumulates into its own zeroed copy, summed after the loop.
 */
#include "gpt2_forkjoin.h"

#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

struct gpt2_forkjoin {
    gpt2_state_t *st;
    gpt2_adamw_t hp;
    gpt2_plan_call_t *calls;
    size_t ncalls;
    int nthreads;
    gpt2_op_t *slices; /* scratch: the slices of one call */
    size_t slices_cap;
    float *ln_scratch; /* nthreads x 2C: layernorm_bwd's per-thread dweight, dbias */
};

int gpt2_forkjoin_create(gpt2_forkjoin_t **out, gpt2_state_t *st, const gpt2_adamw_t *hp)
{
    *out = NULL;
    gpt2_forkjoin_t *fj = calloc(1, sizeof *fj);
    if (!fj) return -ENOMEM;
    fj->st = st;
    fj->hp = *hp;
    fj->nthreads = omp_get_max_threads();
    fj->calls = malloc(gpt2_plan_max_calls(st->cfg.num_layers) * sizeof *fj->calls);
    fj->slices_cap = (size_t)st->B * st->cfg.num_heads + (size_t)fj->nthreads;
    fj->slices = malloc(fj->slices_cap * sizeof *fj->slices);
    fj->ln_scratch = malloc((size_t)fj->nthreads * 2 * st->cfg.channels * sizeof(float));
    if (!fj->calls || !fj->slices || !fj->ln_scratch) {
        gpt2_forkjoin_destroy(fj);
        return -ENOMEM;
    }
    fj->ncalls = gpt2_plan_build(st, hp, fj->calls);
    *out = fj;
    return 0;
}

void gpt2_forkjoin_destroy(gpt2_forkjoin_t *fj)
{
    if (!fj) return;
    free(fj->calls);
    free(fj->slices);
    free(fj->ln_scratch);
    free(fj);
}

int gpt2_forkjoin_threads(const gpt2_forkjoin_t *fj)
{
    return fj->nthreads;
}

/* [lo, hi) cut into `parts` nearly equal pieces: piece k. */
static long forkjoin_cut(long lo, long hi, int parts, int k)
{
    return lo + (hi - lo) * k / parts;
}

static void forkjoin_run_slices(gpt2_forkjoin_t *fj, int n)
{
    gpt2_op_t *s = fj->slices;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++)
        gpt2_cpu_run(&s[i]);
}

static void forkjoin_zero(gpt2_forkjoin_t *fj, const gpt2_plan_call_t *call)
{
    int parts = fj->nthreads;
    char *p = call->zero_ptr;
    long bytes = (long)call->zero_bytes;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < parts; k++) {
        long a = forkjoin_cut(0, bytes, parts, k), e = forkjoin_cut(0, bytes, parts, k + 1);
        memset(p + a, 0, (size_t)(e - a));
    }
}

static void forkjoin_layernorm_bwd(gpt2_forkjoin_t *fj, const gpt2_op_t *op)
{
    int parts = fj->nthreads, C = op->C;
    memset(fj->ln_scratch, 0, (size_t)parts * 2 * C * sizeof(float));
    for (int k = 0; k < parts; k++) {
        gpt2_op_t *s = &fj->slices[k];
        *s = *op;
        s->bt0 = (int)forkjoin_cut(op->bt0, op->bt1, parts, k);
        s->bt1 = (int)forkjoin_cut(op->bt0, op->bt1, parts, k + 1);
        s->u.layernorm_bwd.dweight = fj->ln_scratch + (size_t)k * 2 * C;
        s->u.layernorm_bwd.dbias = fj->ln_scratch + (size_t)k * 2 * C + C;
    }
    forkjoin_run_slices(fj, parts);
    float *dw = op->u.layernorm_bwd.dweight, *db = op->u.layernorm_bwd.dbias;
    for (int k = 0; k < parts; k++)
        for (int c = 0; c < C; c++) {
            dw[c] += fj->ln_scratch[(size_t)k * 2 * C + c];
            db[c] += fj->ln_scratch[(size_t)k * 2 * C + C + c];
        }
}

static void forkjoin_run_call(gpt2_forkjoin_t *fj, const gpt2_plan_call_t *call)
{
    if (call->kind == GPT2_PLAN_ZERO) {
        forkjoin_zero(fj, call);
        return;
    }
    const gpt2_op_t *op = &call->op;
    int parts = fj->nthreads, n = 0;
    switch (op->kind) {
    case GPT2_OP_LAYERNORM_BWD:
        forkjoin_layernorm_bwd(fj, op);
        return;
    case GPT2_OP_ATTENTION_FWD:
    case GPT2_OP_ATTENTION_BWD: /* whole sequences: k and v gradients gather over t */
        for (int b = 0; b < op->B; b++)
            for (int h = 0; h < op->NH; h++) {
                gpt2_op_t *s = &fj->slices[n++];
                *s = *op;
                s->bt0 = b * op->T;
                s->bt1 = (b + 1) * op->T;
                s->h0 = h;
                s->h1 = h + 1;
            }
        break;
    case GPT2_OP_MATMUL_BWD_WEIGHT: /* output channels: dweight rows are disjoint */
    case GPT2_OP_ENCODER_BWD:       /* channels: race-free per gpt2_ops.h */
    {
        int total = op->kind == GPT2_OP_ENCODER_BWD ? op->C : op->OC;
        for (int k = 0; k < parts; k++) {
            gpt2_op_t *s = &fj->slices[n++];
            *s = *op;
            s->oc0 = (int)forkjoin_cut(0, total, parts, k);
            s->oc1 = (int)forkjoin_cut(0, total, parts, k + 1);
        }
        break;
    }
    case GPT2_OP_ADAMW:
        for (int k = 0; k < parts; k++) {
            gpt2_op_t *s = &fj->slices[n++];
            *s = *op;
            s->u.adamw.i0 = (size_t)forkjoin_cut(0, (long)op->u.adamw.i1, parts, k);
            s->u.adamw.i1 = (size_t)forkjoin_cut(0, (long)op->u.adamw.i1, parts, k + 1);
        }
        break;
    default: /* rows */
        for (int k = 0; k < parts; k++) {
            gpt2_op_t *s = &fj->slices[n++];
            *s = *op;
            s->bt0 = (int)forkjoin_cut(op->bt0, op->bt1, parts, k);
            s->bt1 = (int)forkjoin_cut(op->bt0, op->bt1, parts, k + 1);
        }
        break;
    }
    forkjoin_run_slices(fj, n);
}

int gpt2_forkjoin_step(gpt2_forkjoin_t *fj, int step, float lr, float *loss)
{
    fj->hp.lr = lr;
    for (size_t i = 0; i < fj->ncalls; i++) {
        if (fj->calls[i].kind == GPT2_OP_ADAMW) gpt2_plan_set_step(&fj->calls[i].op, &fj->hp, step);
        forkjoin_run_call(fj, &fj->calls[i]);
    }
    *loss = gpt2_plan_mean_loss(fj->st); /* backward and AdamW leave the losses alone */
    return 0;
}

int gpt2_forkjoin_forward(gpt2_forkjoin_t *fj, float *loss)
{
    for (size_t i = 0; i < fj->ncalls; i++)
        if (fj->calls[i].phase == GPT2_PHASE_FWD) forkjoin_run_call(fj, &fj->calls[i]);
    *loss = gpt2_plan_mean_loss(fj->st);
    return 0;
}
