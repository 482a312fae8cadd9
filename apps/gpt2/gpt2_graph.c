/*
 * gpt2_graph.c: cuts the step's kernel calls (gpt2_plan.c) into tasks and submits them.
 *
 * Slices. Rows are cut by --t-gran positions inside one sequence, or, when a slice holds whole
 * sequences, by --b-gran sequences; matmuls are further cut into --oc-split output-channel
 * ranges, attention into as many head groups (at most NH). Accumulating kernels are cut too,
 * and their slices serialise on the INOUT of what they accumulate into: matmul_bwd_weight over
 * row slices (dweight rows of its channel range), layernorm_bwd (dweight, dbias), attention_bwd
 * (the key and value gradient rows that every later position of the sequence adds to).
 * encoder_bwd is one task: its scatter into dwte by token id has no precise range.
 *
 * Accesses. Reads may be coarser than the slice (a task then waits a little longer, never
 * wrongly), so a slice that reads a column range declares the enclosing rows. Writes must not
 * be coarser, or the channel slices of one row range would serialise: a write to a column range
 * of a row-major tensor (a matmul's output slice, an attention head group's output and qkv
 * gradient) is declared as one range per row. When that would exceed the per-task access limit
 * the enclosing rows are declared instead (correct, coarser; gpt2_graph_num_coarse counts them).
 *
 * Priorities: the forward and backward chain first, weight gradients next, zeroing and AdamW
 * (off the critical path) last.
 */
#include "gpt2_graph.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef GPT2_TRAIN_CUDA
#include <nodus/cuda.h>
#endif

#define GRAPH_MAX_ACC     1000              /* per task; the daemon accepts 1024 */
#define GRAPH_ZERO_CHUNK  (1u << 20)        /* bytes per zeroing task */
#define GRAPH_ADAMW_CHUNK ((size_t)1 << 18) /* parameters per AdamW task */
#define GRAPH_NUM_ATTRS   (GPT2_OP_COUNT + 1)

/* One task: an op slice (or a memset) and where its accesses are. */
typedef struct {
    gpt2_op_t op; /* first: the body's argument is the task */
    void *zero_ptr;
    size_t zero_bytes;
    int kind; /* gpt2_op_kind_t or GPT2_PLAN_ZERO */
    gpt2_phase_t phase;
    size_t acc0;
    uint32_t nacc;
} graph_task_t;

struct gpt2_graph {
    nodus_t *n;
    gpt2_state_t *st;
    gpt2_graph_opts_t opts;
    gpt2_adamw_t hp;
    graph_task_t *tasks;
    size_t ntasks, tasks_cap;
    nodus_access_t *acc;
    size_t nacc, acc_cap;
    size_t ncoarse;
    size_t nfwd;
    int (*rows)[2]; /* row slices [r0, r1) */
    int nrows;
    nodus_task_attr_t *attr[GRAPH_NUM_ATTRS];
    bool oom;
};

/* ---- bodies ---- */

static void graph_cpu_body(void *arg)
{
    gpt2_cpu_run(arg);
}

static void graph_zero_body(void *arg)
{
    graph_task_t *t = arg;
    memset(t->zero_ptr, 0, t->zero_bytes);
}

#ifdef GPT2_TRAIN_OPENCL
static void graph_ocl_body(void *arg)
{
    gpt2_ocl_run(arg);
}
#endif

#ifdef GPT2_TRAIN_CUDA
static void graph_cuda_body(void *arg)
{
    gpt2_cuda_run(arg);
}

static void graph_zero_cuda_body(void *arg)
{
    graph_task_t *t = arg;
    cudaMemsetAsync(t->zero_ptr, 0, t->zero_bytes, nodus_cuda_stream());
}
#endif

/* ---- building ---- */

static graph_task_t *graph_new_task(gpt2_graph_t *g, int kind, gpt2_phase_t phase)
{
    if (g->ntasks == g->tasks_cap) {
        size_t cap = g->tasks_cap ? 2 * g->tasks_cap : 1024;
        graph_task_t *t = realloc(g->tasks, cap * sizeof *t);
        if (!t) {
            g->oom = true;
            return NULL;
        }
        g->tasks = t;
        g->tasks_cap = cap;
    }
    graph_task_t *t = &g->tasks[g->ntasks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->phase = phase;
    t->acc0 = g->nacc;
    return t;
}

/* Appends one access to task t (the last task). */
static void graph_acc(gpt2_graph_t *g, graph_task_t *t, const void *p, size_t bytes,
                      nodus_mode_t mode)
{
    if (!p || bytes == 0) return;
    if (g->nacc == g->acc_cap) {
        size_t cap = g->acc_cap ? 2 * g->acc_cap : 4096;
        nodus_access_t *a = realloc(g->acc, cap * sizeof *a);
        if (!a) {
            g->oom = true;
            return;
        }
        g->acc = a;
        g->acc_cap = cap;
    }
    g->acc[g->nacc++] = (nodus_access_t){p, bytes, mode};
    t->nacc++;
}

/* Rows [r0, r1) of a row-major float tensor `width` wide. */
static void graph_rows(gpt2_graph_t *g, graph_task_t *t, const float *base, size_t width, int r0,
                       int r1, nodus_mode_t mode)
{
    graph_acc(g, t, base + (size_t)r0 * width, (size_t)(r1 - r0) * width * sizeof(float), mode);
}

/* Columns [c0, c1) of rows [r0, r1): one range per row for a write (exact), the enclosing rows
 * for a read or when the task has no room for the rows (`reserve` accesses still to come). */
static void graph_cols(gpt2_graph_t *g, graph_task_t *t, const float *base, size_t width, int r0,
                       int r1, size_t c0, size_t c1, nodus_mode_t mode, unsigned reserve)
{
    if ((c0 == 0 && c1 == width) || r1 - r0 == 1) {
        if (r1 - r0 == 1)
            graph_acc(g, t, base + (size_t)r0 * width + c0, (c1 - c0) * sizeof(float), mode);
        else
            graph_rows(g, t, base, width, r0, r1, mode);
        return;
    }
    if (mode == NODUS_IN || t->nacc + (unsigned)(r1 - r0) + reserve > GRAPH_MAX_ACC) {
        if (mode != NODUS_IN) g->ncoarse++;
        graph_rows(g, t, base, width, r0, r1, mode);
        return;
    }
    for (int r = r0; r < r1; r++)
        graph_acc(g, t, base + (size_t)r * width + c0, (c1 - c0) * sizeof(float), mode);
}

/* Rows [t0, t1) of the (T, T) matrices of heads [h0, h1) of sequence b in a (B, NH, T, T)
 * tensor: one range per head. */
static void graph_heads(gpt2_graph_t *g, graph_task_t *t, const float *base, const gpt2_op_t *op,
                        int b, int t0, int t1, nodus_mode_t mode)
{
    size_t T = (size_t)op->T;
    for (int h = op->h0; h < op->h1; h++)
        graph_acc(g, t, base + (((size_t)b * op->NH + h) * T + t0) * T, (t1 - t0) * T * 4, mode);
}

/* The accesses of an op slice (gpt2_ops.h says what each kind reads and writes). */
static void graph_op_accesses(gpt2_graph_t *g, graph_task_t *t)
{
    const gpt2_op_t *op = &t->op;
    int r0 = op->bt0, r1 = op->bt1, T = op->T, C = op->C, OC = op->OC;
    size_t W = (size_t)op->width, Vp = (size_t)op->Vp;
    switch (op->kind) {
    case GPT2_OP_ENCODER_FWD:
        graph_rows(g, t, op->u.encoder_fwd.out, C, r0, r1, NODUS_OUT);
        graph_acc(g, t, op->u.encoder_fwd.tokens + r0, (size_t)(r1 - r0) * sizeof(int), NODUS_IN);
        graph_acc(g, t, op->u.encoder_fwd.wte, Vp * C * 4, NODUS_IN);
        graph_acc(g, t, op->u.encoder_fwd.wpe, (size_t)T * C * 4, NODUS_IN);
        break;
    case GPT2_OP_ENCODER_BWD:
        graph_acc(g, t, op->u.encoder_bwd.dwte, Vp * C * 4, NODUS_INOUT);
        graph_acc(g, t, op->u.encoder_bwd.dwpe, (size_t)T * C * 4, NODUS_INOUT);
        graph_rows(g, t, op->u.encoder_bwd.dout, C, r0, r1, NODUS_IN);
        graph_acc(g, t, op->u.encoder_bwd.tokens + r0, (size_t)(r1 - r0) * sizeof(int), NODUS_IN);
        break;
    case GPT2_OP_LAYERNORM_FWD:
        graph_rows(g, t, op->u.layernorm_fwd.out, C, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.layernorm_fwd.mean, 1, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.layernorm_fwd.rstd, 1, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.layernorm_fwd.inp, C, r0, r1, NODUS_IN);
        graph_acc(g, t, op->u.layernorm_fwd.weight, (size_t)C * 4, NODUS_IN);
        graph_acc(g, t, op->u.layernorm_fwd.bias, (size_t)C * 4, NODUS_IN);
        break;
    case GPT2_OP_LAYERNORM_BWD:
        graph_rows(g, t, op->u.layernorm_bwd.dinp, C, r0, r1, NODUS_INOUT);
        graph_acc(g, t, op->u.layernorm_bwd.dweight, (size_t)C * 4, NODUS_INOUT);
        graph_acc(g, t, op->u.layernorm_bwd.dbias, (size_t)C * 4, NODUS_INOUT);
        graph_rows(g, t, op->u.layernorm_bwd.dout, C, r0, r1, NODUS_IN);
        graph_rows(g, t, op->u.layernorm_bwd.inp, C, r0, r1, NODUS_IN);
        graph_acc(g, t, op->u.layernorm_bwd.weight, (size_t)C * 4, NODUS_IN);
        graph_rows(g, t, op->u.layernorm_bwd.mean, 1, r0, r1, NODUS_IN);
        graph_rows(g, t, op->u.layernorm_bwd.rstd, 1, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_MATMUL_FWD:
        graph_cols(g, t, op->u.matmul_fwd.out, OC, r0, r1, op->oc0, op->oc1, NODUS_OUT, 3);
        graph_rows(g, t, op->u.matmul_fwd.inp, C, r0, r1, NODUS_IN);
        graph_rows(g, t, op->u.matmul_fwd.weight, C, op->oc0, op->oc1, NODUS_IN);
        if (op->u.matmul_fwd.bias)
            graph_rows(g, t, op->u.matmul_fwd.bias, 1, op->oc0, op->oc1, NODUS_IN);
        break;
    case GPT2_OP_MATMUL_BWD_INP:
        graph_rows(g, t, op->u.matmul_bwd_inp.dinp, C, r0, r1, NODUS_INOUT);
        graph_rows(g, t, op->u.matmul_bwd_inp.dout, OC, r0, r1, NODUS_IN);
        graph_acc(g, t, op->u.matmul_bwd_inp.weight, (size_t)OC * C * 4, NODUS_IN);
        break;
    case GPT2_OP_MATMUL_BWD_WEIGHT:
        graph_rows(g, t, op->u.matmul_bwd_weight.dweight, C, op->oc0, op->oc1, NODUS_INOUT);
        if (op->u.matmul_bwd_weight.dbias)
            graph_rows(g, t, op->u.matmul_bwd_weight.dbias, 1, op->oc0, op->oc1, NODUS_INOUT);
        graph_cols(g, t, op->u.matmul_bwd_weight.dout, OC, r0, r1, op->oc0, op->oc1, NODUS_IN, 0);
        graph_rows(g, t, op->u.matmul_bwd_weight.inp, C, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_ATTENTION_FWD: {
        int b = r0 / T, hs = C / op->NH;
        size_t c0 = (size_t)op->h0 * hs, c1 = (size_t)op->h1 * hs;
        graph_heads(g, t, op->u.attention_fwd.preatt, op, b, r0 - b * T, r1 - b * T, NODUS_OUT);
        graph_heads(g, t, op->u.attention_fwd.att, op, b, r0 - b * T, r1 - b * T, NODUS_OUT);
        graph_cols(g, t, op->u.attention_fwd.out, C, r0, r1, c0, c1, NODUS_OUT, 1);
        graph_rows(g, t, op->u.attention_fwd.inp, 3 * (size_t)C, b * T, r1, NODUS_IN);
        break;
    }
    case GPT2_OP_ATTENTION_BWD: {
        int b = r0 / T, hs = C / op->NH;
        size_t c0 = (size_t)op->h0 * hs, c1 = (size_t)op->h1 * hs, C3 = 3 * (size_t)C;
        graph_heads(g, t, op->u.attention_bwd.dpreatt, op, b, r0 - b * T, r1 - b * T, NODUS_INOUT);
        graph_heads(g, t, op->u.attention_bwd.datt, op, b, r0 - b * T, r1 - b * T, NODUS_INOUT);
        /* dqkv: q of rows [r0, r1), k and v of rows [b*T, r1), columns of the head group */
        unsigned need = (unsigned)(r1 - r0) + 2 * (unsigned)(r1 - b * T) + 3 * (unsigned)op->NH;
        if ((op->h0 == 0 && op->h1 == op->NH) || t->nacc + need > GRAPH_MAX_ACC) {
            /* the enclosing rows: their q part before r0 belongs to slices that share these k
             * and v rows (and serialise with this one) anyway */
            if (!(op->h0 == 0 && op->h1 == op->NH)) g->ncoarse++;
            graph_rows(g, t, op->u.attention_bwd.dinp, C3, b * T, r1, NODUS_INOUT);
        } else {
            float *dqkv = op->u.attention_bwd.dinp;
            graph_cols(g, t, dqkv, C3, r0, r1, c0, c1, NODUS_INOUT, 0);
            graph_cols(g, t, dqkv, C3, b * T, r1, C + c0, C + c1, NODUS_INOUT, 0);
            graph_cols(g, t, dqkv, C3, b * T, r1, 2 * C + c0, 2 * C + c1, NODUS_INOUT, 0);
        }
        graph_rows(g, t, op->u.attention_bwd.dout, C, r0, r1, NODUS_IN);
        graph_rows(g, t, op->u.attention_bwd.inp, C3, b * T, r1, NODUS_IN);
        graph_heads(g, t, op->u.attention_bwd.att, op, b, r0 - b * T, r1 - b * T, NODUS_IN);
        break;
    }
    case GPT2_OP_GELU_FWD:
        graph_rows(g, t, op->u.gelu_fwd.out, W, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.gelu_fwd.inp, W, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_GELU_BWD:
        graph_rows(g, t, op->u.gelu_bwd.dinp, W, r0, r1, NODUS_INOUT);
        graph_rows(g, t, op->u.gelu_bwd.inp, W, r0, r1, NODUS_IN);
        graph_rows(g, t, op->u.gelu_bwd.dout, W, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_RESIDUAL_FWD:
        graph_rows(g, t, op->u.residual_fwd.out, W, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.residual_fwd.inp1, W, r0, r1, NODUS_IN);
        graph_rows(g, t, op->u.residual_fwd.inp2, W, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_RESIDUAL_BWD:
        graph_rows(g, t, op->u.residual_bwd.dinp1, W, r0, r1, NODUS_INOUT);
        graph_rows(g, t, op->u.residual_bwd.dinp2, W, r0, r1, NODUS_INOUT);
        graph_rows(g, t, op->u.residual_bwd.dout, W, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_SOFTMAX_FWD:
        graph_rows(g, t, op->u.softmax_fwd.probs, Vp, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.softmax_fwd.logits, Vp, r0, r1, NODUS_IN);
        break;
    case GPT2_OP_CROSSENTROPY_FWD:
        graph_rows(g, t, op->u.crossentropy_fwd.losses, 1, r0, r1, NODUS_OUT);
        graph_rows(g, t, op->u.crossentropy_fwd.probs, Vp, r0, r1, NODUS_IN);
        graph_acc(g, t, op->u.crossentropy_fwd.targets + r0, (size_t)(r1 - r0) * sizeof(int),
                  NODUS_IN);
        break;
    case GPT2_OP_CROSSENTROPY_SOFTMAX_BWD:
        graph_rows(g, t, op->u.crossentropy_softmax_bwd.dlogits, Vp, r0, r1, NODUS_INOUT);
        graph_rows(g, t, op->u.crossentropy_softmax_bwd.probs, Vp, r0, r1, NODUS_IN);
        graph_acc(g, t, op->u.crossentropy_softmax_bwd.targets + r0,
                  (size_t)(r1 - r0) * sizeof(int), NODUS_IN);
        break;
    case GPT2_OP_ADAMW: {
        size_t i0 = op->u.adamw.i0, n = (op->u.adamw.i1 - i0) * sizeof(float);
        graph_acc(g, t, op->u.adamw.params + i0, n, NODUS_INOUT);
        graph_acc(g, t, op->u.adamw.m + i0, n, NODUS_INOUT);
        graph_acc(g, t, op->u.adamw.v + i0, n, NODUS_INOUT);
        graph_acc(g, t, op->u.adamw.grads + i0, n, NODUS_IN);
        break;
    }
    case GPT2_OP_COUNT:
        break;
    }
}

static void graph_emit(gpt2_graph_t *g, const gpt2_plan_call_t *call, int r0, int r1, int oc0,
                       int oc1, int h0, int h1)
{
    graph_task_t *t = graph_new_task(g, call->kind, call->phase);
    if (!t) return;
    t->op = call->op;
    t->op.bt0 = r0;
    t->op.bt1 = r1;
    t->op.oc0 = oc0;
    t->op.oc1 = oc1;
    t->op.h0 = h0;
    t->op.h1 = h1;
    graph_op_accesses(g, t);
}

/* Cuts one kernel call into slices. */
static void graph_cut(gpt2_graph_t *g, const gpt2_plan_call_t *call)
{
    const gpt2_op_t *op = &call->op;
    int T = op->T, split = g->opts.oc_split;
    if (call->kind == GPT2_PLAN_ZERO) {
        for (size_t off = 0; off < call->zero_bytes; off += GRAPH_ZERO_CHUNK) {
            graph_task_t *t = graph_new_task(g, GPT2_PLAN_ZERO, call->phase);
            if (!t) return;
            t->zero_ptr = (char *)call->zero_ptr + off;
            t->zero_bytes = call->zero_bytes - off < GRAPH_ZERO_CHUNK ? call->zero_bytes - off
                                                                      : GRAPH_ZERO_CHUNK;
            graph_acc(g, t, t->zero_ptr, t->zero_bytes, NODUS_OUT);
        }
        return;
    }
    switch (op->kind) {
    case GPT2_OP_ENCODER_BWD:
        graph_emit(g, call, op->bt0, op->bt1, op->oc0, op->oc1, op->h0, op->h1);
        return;
    case GPT2_OP_ADAMW: {
        /* per parameter tensor and layer, so a layer's update starts when its gradients are
         * complete; chunked so that a big tensor (wte) is several tasks */
        const gpt2_state_t *st = g->st;
        size_t off = 0;
        for (int i = 0; i < GPT2_NUM_PARAM_TENSORS; i++) {
            size_t sz = st->param_sizes[i];
            int parts = (i == GPT2_WTE || i == GPT2_WPE || i >= GPT2_LNFW) ? 1 : st->cfg.num_layers;
            for (int l = 0; l < parts; l++) {
                size_t a = off + sz * l / parts, e = off + sz * (l + 1) / parts;
                for (size_t c = a; c < e; c += GRAPH_ADAMW_CHUNK) {
                    graph_task_t *t = graph_new_task(g, call->kind, call->phase);
                    if (!t) return;
                    t->op = *op;
                    t->op.u.adamw.i0 = c;
                    t->op.u.adamw.i1 = e - c < GRAPH_ADAMW_CHUNK ? e : c + GRAPH_ADAMW_CHUNK;
                    graph_op_accesses(g, t);
                }
            }
            off += sz;
        }
        return;
    }
    default:
        break;
    }
    for (int s = 0; s < g->nrows; s++) {
        int r0 = g->rows[s][0], r1 = g->rows[s][1];
        switch (op->kind) {
        case GPT2_OP_MATMUL_FWD:
        case GPT2_OP_MATMUL_BWD_WEIGHT: {
            int parts = split < op->OC ? split : op->OC;
            for (int k = 0; k < parts; k++) {
                int o0 = (int)((long)op->OC * k / parts),
                    o1 = (int)((long)op->OC * (k + 1) / parts);
                graph_emit(g, call, r0, r1, o0, o1, 0, op->NH);
            }
            break;
        }
        case GPT2_OP_ATTENTION_FWD:
        case GPT2_OP_ATTENTION_BWD: {
            int groups = split < op->NH ? split : op->NH;
            for (int b0 = r0; b0 < r1; b0 = (b0 / T + 1) * T) { /* one sequence at a time */
                int b1 = (b0 / T + 1) * T < r1 ? (b0 / T + 1) * T : r1;
                for (int k = 0; k < groups; k++)
                    graph_emit(g, call, b0, b1, 0, 0, op->NH * k / groups,
                               op->NH * (k + 1) / groups);
            }
            break;
        }
        default:
            graph_emit(g, call, r0, r1, op->oc0, op->oc1, op->h0, op->h1);
            break;
        }
    }
}

/* Row slices: t_gran positions in one sequence, or b_gran whole sequences. */
static int graph_make_rows(gpt2_graph_t *g)
{
    int B = g->st->B, T = g->st->T;
    int tg = g->opts.t_gran <= 0 || g->opts.t_gran >= T ? T : g->opts.t_gran;
    int bg = tg == T ? g->opts.b_gran : 1;
    int per_seq = (T + tg - 1) / tg;
    int n = tg == T ? (B + bg - 1) / bg : B * per_seq;
    g->rows = malloc((size_t)n * sizeof *g->rows);
    if (!g->rows) return -ENOMEM;
    g->nrows = 0;
    if (tg == T) {
        for (int b = 0; b < B; b += bg) {
            g->rows[g->nrows][0] = b * T;
            g->rows[g->nrows++][1] = (b + bg < B ? b + bg : B) * T;
        }
    } else {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t += tg) {
                g->rows[g->nrows][0] = b * T + t;
                g->rows[g->nrows++][1] = b * T + (t + tg < T ? t + tg : T);
            }
    }
    return 0;
}

static int graph_priority(int kind)
{
    switch (kind) {
    case GPT2_PLAN_ZERO:
    case GPT2_OP_ADAMW:
        return 0;
    case GPT2_OP_MATMUL_BWD_WEIGHT:
    case GPT2_OP_ENCODER_BWD:
        return 1;
    default:
        return 2;
    }
}

/* Whether running a task of this kind twice is harmless (nodus_task_attr_set_idempotent; only
 * used after a daemon restart lost a started task's device outcome): the forward ops and the
 * zeroing write their outputs from inputs they do not write; the backward ops accumulate (+=)
 * and AdamW updates its parameters and moments in place, so a second run would count twice. */
static bool graph_idempotent(int kind)
{
    switch (kind) {
    case GPT2_PLAN_ZERO:
    case GPT2_OP_ENCODER_FWD:
    case GPT2_OP_LAYERNORM_FWD:
    case GPT2_OP_MATMUL_FWD:
    case GPT2_OP_ATTENTION_FWD:
    case GPT2_OP_GELU_FWD:
    case GPT2_OP_RESIDUAL_FWD:
    case GPT2_OP_SOFTMAX_FWD:
    case GPT2_OP_CROSSENTROPY_FWD:
        return true;
    default:
        return false;
    }
}

static int graph_make_attrs(gpt2_graph_t *g)
{
    unsigned impls = g->opts.impls;
    for (int k = 0; k < GRAPH_NUM_ATTRS; k++) {
        int rc = nodus_task_attr_create(&g->attr[k]);
        if (rc < 0) return rc;
        nodus_task_attr_t *a = g->attr[k];
        nodus_task_attr_set_priority(a, graph_priority(k));
        nodus_task_attr_set_label(a, k == GPT2_PLAN_ZERO ? "zero" : gpt2_op_name(k));
        nodus_task_attr_set_idempotent(a, graph_idempotent(k));
        if (k == GPT2_PLAN_ZERO) {
#ifdef GPT2_TRAIN_CUDA
            if (impls & GPT2_GRAPH_CUDA)
                nodus_task_attr_set_impl(a, NODUS_DEV_CUDA, graph_zero_cuda_body);
#endif
            continue;
        }
#ifdef GPT2_TRAIN_OPENCL
        if (impls & GPT2_GRAPH_OPENCL)
            nodus_task_attr_set_impl(a, NODUS_DEV_OPENCL, graph_ocl_body);
#endif
#ifdef GPT2_TRAIN_CUDA
        if (impls & GPT2_GRAPH_CUDA) nodus_task_attr_set_impl(a, NODUS_DEV_CUDA, graph_cuda_body);
#endif
    }
    return 0;
}

int gpt2_graph_create(gpt2_graph_t **out, nodus_t *n, gpt2_state_t *st,
                      const gpt2_graph_opts_t *opts, const gpt2_adamw_t *hp)
{
    *out = NULL;
    unsigned known = GPT2_GRAPH_CPU;
#ifdef GPT2_TRAIN_OPENCL
    known |= GPT2_GRAPH_OPENCL;
#endif
#ifdef GPT2_TRAIN_CUDA
    known |= GPT2_GRAPH_CUDA;
#endif
    if (opts->b_gran < 1 || opts->t_gran < 0 || opts->oc_split < 1 || opts->impls == 0 ||
        (opts->impls & ~known))
        return -EINVAL;
    gpt2_graph_t *g = calloc(1, sizeof *g);
    if (!g) return -ENOMEM;
    g->n = n;
    g->st = st;
    g->opts = *opts;
    g->hp = *hp;
    size_t max_calls = gpt2_plan_max_calls(st->cfg.num_layers);
    gpt2_plan_call_t *calls = malloc(max_calls * sizeof *calls);
    int rc = calls ? graph_make_rows(g) : -ENOMEM;
    if (rc == 0) {
        size_t ncalls = gpt2_plan_build(st, hp, calls);
        for (size_t i = 0; i < ncalls && !g->oom; i++)
            graph_cut(g, &calls[i]);
        rc = g->oom ? -ENOMEM : graph_make_attrs(g);
    }
    free(calls);
    if (rc != 0) {
        gpt2_graph_destroy(g);
        return rc;
    }
    for (size_t i = 0; i < g->ntasks; i++)
        if (g->tasks[i].phase == GPT2_PHASE_FWD) g->nfwd++;
    *out = g;
    return 0;
}

void gpt2_graph_destroy(gpt2_graph_t *g)
{
    if (!g) return;
    for (int k = 0; k < GRAPH_NUM_ATTRS; k++)
        if (g->attr[k]) nodus_task_attr_destroy(g->attr[k]);
    free(g->tasks);
    free(g->acc);
    free(g->rows);
    free(g);
}

static int graph_submit(gpt2_graph_t *g, bool forward_only)
{
    bool cpu = g->opts.impls & GPT2_GRAPH_CPU;
    /* zeroing runs on the CPU unless only CUDA is offered (managed memory stays on the GPU) */
    bool zero_cpu = cpu || !(g->opts.impls & GPT2_GRAPH_CUDA);
    int rc = 0;
    for (size_t i = 0; i < g->ntasks && rc >= 0; i++) {
        graph_task_t *t = &g->tasks[i];
        if (forward_only && t->phase != GPT2_PHASE_FWD) continue;
        nodus_task_fn fn = t->kind == GPT2_PLAN_ZERO ? (zero_cpu ? graph_zero_body : NULL)
                           : cpu                     ? graph_cpu_body
                                                     : NULL;
        rc = nodus_submit(g->n, fn, t, &g->acc[t->acc0], t->nacc, g->attr[t->kind]);
    }
    int wrc = nodus_taskwait(g->n);
    return rc < 0 ? rc : wrc;
}

int gpt2_graph_step(gpt2_graph_t *g, int step, float lr, float *loss)
{
    g->hp.lr = lr;
    for (size_t i = 0; i < g->ntasks; i++)
        if (g->tasks[i].kind == GPT2_OP_ADAMW) gpt2_plan_set_step(&g->tasks[i].op, &g->hp, step);
    int rc = graph_submit(g, false);
    if (rc == 0) *loss = gpt2_plan_mean_loss(g->st);
    return rc;
}

int gpt2_graph_forward(gpt2_graph_t *g, float *loss)
{
    int rc = graph_submit(g, true);
    if (rc == 0) *loss = gpt2_plan_mean_loss(g->st);
    return rc;
}

size_t gpt2_graph_num_tasks(const gpt2_graph_t *g, bool forward_only)
{
    return forward_only ? g->nfwd : g->ntasks;
}

size_t gpt2_graph_num_coarse(const gpt2_graph_t *g)
{
    return g->ncoarse;
}
