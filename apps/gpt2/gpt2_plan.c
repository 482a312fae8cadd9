/*
 * gpt2_plan.c: the kernel calls of one training step, in llm.c's order (train_gpt2.c's
 * gpt2_forward, gpt2_zero_grad, gpt2_backward and gpt2_update), with dropout absent and each call
 * over its whole range. Only the wiring lives here: which tensor feeds which kernel.
 */
#include "gpt2_plan.h"

#include <string.h>

/* Calls per layer: forward 10, backward 10 (matmul backward counts twice: input and weight). */
#define PLAN_FWD_PER_LAYER 10
#define PLAN_BWD_PER_LAYER 14

size_t gpt2_plan_max_calls(int num_layers)
{
    return 2 + 1 + (size_t)num_layers * (PLAN_FWD_PER_LAYER + PLAN_BWD_PER_LAYER) + 5 + 6 + 1 + 8;
}

/* The builder's cursor and the shape every op carries. */
typedef struct {
    const gpt2_state_t *st;
    gpt2_plan_call_t *calls;
    size_t n;
    gpt2_phase_t phase;
    int BT, C, NH;
} plan_t;

static gpt2_op_t *plan_add(plan_t *p, gpt2_op_kind_t kind, int width)
{
    gpt2_plan_call_t *call = &p->calls[p->n++];
    memset(call, 0, sizeof *call);
    call->kind = (int)kind;
    call->phase = p->phase;
    gpt2_op_t *op = &call->op;
    const gpt2_state_t *st = p->st;
    op->kind = kind;
    op->B = st->B;
    op->T = st->T;
    op->C = st->cfg.channels;
    op->NH = st->cfg.num_heads;
    op->V = st->cfg.vocab_size;
    op->Vp = st->cfg.padded_vocab_size;
    op->width = width;
    op->bt0 = 0;
    op->bt1 = p->BT;
    op->oc0 = 0;
    op->oc1 = 0;
    op->h0 = 0;
    op->h1 = st->cfg.num_heads;
    return op;
}

static void plan_zero(plan_t *p, void *ptr, size_t floats)
{
    gpt2_plan_call_t *call = &p->calls[p->n++];
    memset(call, 0, sizeof *call);
    call->kind = GPT2_PLAN_ZERO;
    call->phase = p->phase;
    call->zero_ptr = ptr;
    call->zero_bytes = floats * sizeof(float);
}

static void plan_layernorm_fwd(plan_t *p, float *out, float *mean, float *rstd, const float *inp,
                               const float *w, const float *b)
{
    gpt2_op_t *op = plan_add(p, GPT2_OP_LAYERNORM_FWD, p->C);
    op->u.layernorm_fwd.out = out;
    op->u.layernorm_fwd.mean = mean;
    op->u.layernorm_fwd.rstd = rstd;
    op->u.layernorm_fwd.inp = inp;
    op->u.layernorm_fwd.weight = w;
    op->u.layernorm_fwd.bias = b;
}

static void plan_matmul_fwd(plan_t *p, float *out, const float *inp, const float *w, const float *b,
                            int C, int OC)
{
    gpt2_op_t *op = plan_add(p, GPT2_OP_MATMUL_FWD, OC);
    op->C = C;
    op->OC = OC;
    op->oc1 = OC;
    op->u.matmul_fwd.out = out;
    op->u.matmul_fwd.inp = inp;
    op->u.matmul_fwd.weight = w;
    op->u.matmul_fwd.bias = b;
}

static void plan_residual_fwd(plan_t *p, float *out, const float *a, const float *b)
{
    gpt2_op_t *op = plan_add(p, GPT2_OP_RESIDUAL_FWD, p->C);
    op->u.residual_fwd.out = out;
    op->u.residual_fwd.inp1 = a;
    op->u.residual_fwd.inp2 = b;
}

/* matmul backward: the input gradient first (the critical path), then the weight gradient. */
static void plan_matmul_bwd(plan_t *p, float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, int C, int OC)
{
    gpt2_op_t *op = plan_add(p, GPT2_OP_MATMUL_BWD_INP, OC);
    op->C = C;
    op->OC = OC;
    op->oc1 = OC;
    op->u.matmul_bwd_inp.dinp = dinp;
    op->u.matmul_bwd_inp.dout = dout;
    op->u.matmul_bwd_inp.weight = w;
    op = plan_add(p, GPT2_OP_MATMUL_BWD_WEIGHT, OC);
    op->C = C;
    op->OC = OC;
    op->oc1 = OC;
    op->u.matmul_bwd_weight.dweight = dw;
    op->u.matmul_bwd_weight.dbias = db;
    op->u.matmul_bwd_weight.dout = dout;
    op->u.matmul_bwd_weight.inp = inp;
}

static void plan_layernorm_bwd(plan_t *p, float *dinp, float *dw, float *db, const float *dout,
                               const float *inp, const float *w, const float *mean,
                               const float *rstd)
{
    gpt2_op_t *op = plan_add(p, GPT2_OP_LAYERNORM_BWD, p->C);
    op->u.layernorm_bwd.dinp = dinp;
    op->u.layernorm_bwd.dweight = dw;
    op->u.layernorm_bwd.dbias = db;
    op->u.layernorm_bwd.dout = dout;
    op->u.layernorm_bwd.inp = inp;
    op->u.layernorm_bwd.weight = w;
    op->u.layernorm_bwd.mean = mean;
    op->u.layernorm_bwd.rstd = rstd;
}

static void plan_residual_bwd(plan_t *p, float *dinp1, float *dinp2, const float *dout)
{
    gpt2_op_t *op = plan_add(p, GPT2_OP_RESIDUAL_BWD, p->C);
    op->u.residual_bwd.dinp1 = dinp1;
    op->u.residual_bwd.dinp2 = dinp2;
    op->u.residual_bwd.dout = dout;
}

void gpt2_plan_set_step(gpt2_op_t *op, const gpt2_adamw_t *hp, int step)
{
    op->u.adamw.lr = hp->lr;
    op->u.adamw.beta1 = hp->beta1;
    op->u.adamw.beta2 = hp->beta2;
    op->u.adamw.eps = hp->eps;
    op->u.adamw.weight_decay = hp->weight_decay;
    op->u.adamw.step = step;
}

/* Tensor `act` of layer l (activations or their gradients). */
#define ACT(a, l)  (st->act_t[a] + (size_t)(l)*gpt2_state_act_layer(st, a))
#define DACT(a, l) (st->dact_t[a] + (size_t)(l)*gpt2_state_act_layer(st, a))
/* Parameter tensor i of layer l, whose per-layer size is n floats. */
#define PAR(i, l, n)  (st->param_t[i] + (size_t)(l) * (n))
#define GRAD(i, l, n) (st->grad_t[i] + (size_t)(l) * (n))

static void plan_forward(plan_t *p)
{
    const gpt2_state_t *st = p->st;
    int L = st->cfg.num_layers, C = p->C;
    size_t C3 = 3 * (size_t)C, C4 = 4 * (size_t)C, CC = (size_t)C * C;
    gpt2_op_t *op = plan_add(p, GPT2_OP_ENCODER_FWD, C);
    op->u.encoder_fwd.out = ACT(GPT2_ACT_ENCODED, 0);
    op->u.encoder_fwd.tokens = st->inputs;
    op->u.encoder_fwd.wte = st->param_t[GPT2_WTE];
    op->u.encoder_fwd.wpe = st->param_t[GPT2_WPE];
    for (int l = 0; l < L; l++) {
        const float *residual = l == 0 ? ACT(GPT2_ACT_ENCODED, 0) : ACT(GPT2_ACT_RESIDUAL3, l - 1);
        plan_layernorm_fwd(p, ACT(GPT2_ACT_LN1, l), ACT(GPT2_ACT_LN1_MEAN, l),
                           ACT(GPT2_ACT_LN1_RSTD, l), residual, PAR(GPT2_LN1W, l, C),
                           PAR(GPT2_LN1B, l, C));
        plan_matmul_fwd(p, ACT(GPT2_ACT_QKV, l), ACT(GPT2_ACT_LN1, l), PAR(GPT2_QKVW, l, C3 * C),
                        PAR(GPT2_QKVB, l, C3), C, 3 * C);
        op = plan_add(p, GPT2_OP_ATTENTION_FWD, C);
        op->u.attention_fwd.out = ACT(GPT2_ACT_ATTY, l);
        op->u.attention_fwd.preatt = ACT(GPT2_ACT_PREATT, l);
        op->u.attention_fwd.att = ACT(GPT2_ACT_ATT, l);
        op->u.attention_fwd.inp = ACT(GPT2_ACT_QKV, l);
        plan_matmul_fwd(p, ACT(GPT2_ACT_ATTPROJ, l), ACT(GPT2_ACT_ATTY, l),
                        PAR(GPT2_ATTPROJW, l, CC), PAR(GPT2_ATTPROJB, l, C), C, C);
        plan_residual_fwd(p, ACT(GPT2_ACT_RESIDUAL2, l), residual, ACT(GPT2_ACT_ATTPROJ, l));
        plan_layernorm_fwd(p, ACT(GPT2_ACT_LN2, l), ACT(GPT2_ACT_LN2_MEAN, l),
                           ACT(GPT2_ACT_LN2_RSTD, l), ACT(GPT2_ACT_RESIDUAL2, l),
                           PAR(GPT2_LN2W, l, C), PAR(GPT2_LN2B, l, C));
        plan_matmul_fwd(p, ACT(GPT2_ACT_FCH, l), ACT(GPT2_ACT_LN2, l), PAR(GPT2_FCW, l, C4 * C),
                        PAR(GPT2_FCB, l, C4), C, 4 * C);
        op = plan_add(p, GPT2_OP_GELU_FWD, 4 * C);
        op->u.gelu_fwd.out = ACT(GPT2_ACT_FCH_GELU, l);
        op->u.gelu_fwd.inp = ACT(GPT2_ACT_FCH, l);
        plan_matmul_fwd(p, ACT(GPT2_ACT_FCPROJ, l), ACT(GPT2_ACT_FCH_GELU, l),
                        PAR(GPT2_FCPROJW, l, C * C4), PAR(GPT2_FCPROJB, l, C), 4 * C, C);
        plan_residual_fwd(p, ACT(GPT2_ACT_RESIDUAL3, l), ACT(GPT2_ACT_RESIDUAL2, l),
                          ACT(GPT2_ACT_FCPROJ, l));
    }
    plan_layernorm_fwd(p, ACT(GPT2_ACT_LNF, 0), ACT(GPT2_ACT_LNF_MEAN, 0),
                       ACT(GPT2_ACT_LNF_RSTD, 0), ACT(GPT2_ACT_RESIDUAL3, L - 1),
                       st->param_t[GPT2_LNFW], st->param_t[GPT2_LNFB]);
    int Vp = st->cfg.padded_vocab_size;
    plan_matmul_fwd(p, ACT(GPT2_ACT_LOGITS, 0), ACT(GPT2_ACT_LNF, 0), st->param_t[GPT2_WTE], NULL,
                    C, Vp);
    op = plan_add(p, GPT2_OP_SOFTMAX_FWD, Vp);
    op->u.softmax_fwd.probs = ACT(GPT2_ACT_PROBS, 0);
    op->u.softmax_fwd.logits = ACT(GPT2_ACT_LOGITS, 0);
    op = plan_add(p, GPT2_OP_CROSSENTROPY_FWD, Vp);
    op->u.crossentropy_fwd.losses = ACT(GPT2_ACT_LOSSES, 0);
    op->u.crossentropy_fwd.probs = ACT(GPT2_ACT_PROBS, 0);
    op->u.crossentropy_fwd.targets = st->targets;
}

static void plan_backward(plan_t *p)
{
    const gpt2_state_t *st = p->st;
    int L = st->cfg.num_layers, C = p->C, Vp = st->cfg.padded_vocab_size;
    size_t C3 = 3 * (size_t)C, C4 = 4 * (size_t)C, CC = (size_t)C * C;
    gpt2_op_t *op = plan_add(p, GPT2_OP_CROSSENTROPY_SOFTMAX_BWD, Vp);
    op->u.crossentropy_softmax_bwd.dlogits = DACT(GPT2_ACT_LOGITS, 0);
    op->u.crossentropy_softmax_bwd.probs = ACT(GPT2_ACT_PROBS, 0);
    op->u.crossentropy_softmax_bwd.targets = st->targets;
    op->u.crossentropy_softmax_bwd.dloss = 1.0f / (float)p->BT;
    plan_matmul_bwd(p, DACT(GPT2_ACT_LNF, 0), st->grad_t[GPT2_WTE], NULL, DACT(GPT2_ACT_LOGITS, 0),
                    ACT(GPT2_ACT_LNF, 0), st->param_t[GPT2_WTE], C, Vp);
    plan_layernorm_bwd(p, DACT(GPT2_ACT_RESIDUAL3, L - 1), st->grad_t[GPT2_LNFW],
                       st->grad_t[GPT2_LNFB], DACT(GPT2_ACT_LNF, 0), ACT(GPT2_ACT_RESIDUAL3, L - 1),
                       st->param_t[GPT2_LNFW], ACT(GPT2_ACT_LNF_MEAN, 0),
                       ACT(GPT2_ACT_LNF_RSTD, 0));
    for (int l = L - 1; l >= 0; l--) {
        const float *residual = l == 0 ? ACT(GPT2_ACT_ENCODED, 0) : ACT(GPT2_ACT_RESIDUAL3, l - 1);
        float *dresidual = l == 0 ? DACT(GPT2_ACT_ENCODED, 0) : DACT(GPT2_ACT_RESIDUAL3, l - 1);
        plan_residual_bwd(p, DACT(GPT2_ACT_RESIDUAL2, l), DACT(GPT2_ACT_FCPROJ, l),
                          DACT(GPT2_ACT_RESIDUAL3, l));
        plan_matmul_bwd(p, DACT(GPT2_ACT_FCH_GELU, l), GRAD(GPT2_FCPROJW, l, C * C4),
                        GRAD(GPT2_FCPROJB, l, C), DACT(GPT2_ACT_FCPROJ, l),
                        ACT(GPT2_ACT_FCH_GELU, l), PAR(GPT2_FCPROJW, l, C * C4), 4 * C, C);
        op = plan_add(p, GPT2_OP_GELU_BWD, 4 * C);
        op->u.gelu_bwd.dinp = DACT(GPT2_ACT_FCH, l);
        op->u.gelu_bwd.inp = ACT(GPT2_ACT_FCH, l);
        op->u.gelu_bwd.dout = DACT(GPT2_ACT_FCH_GELU, l);
        plan_matmul_bwd(p, DACT(GPT2_ACT_LN2, l), GRAD(GPT2_FCW, l, C4 * C), GRAD(GPT2_FCB, l, C4),
                        DACT(GPT2_ACT_FCH, l), ACT(GPT2_ACT_LN2, l), PAR(GPT2_FCW, l, C4 * C), C,
                        4 * C);
        plan_layernorm_bwd(p, DACT(GPT2_ACT_RESIDUAL2, l), GRAD(GPT2_LN2W, l, C),
                           GRAD(GPT2_LN2B, l, C), DACT(GPT2_ACT_LN2, l), ACT(GPT2_ACT_RESIDUAL2, l),
                           PAR(GPT2_LN2W, l, C), ACT(GPT2_ACT_LN2_MEAN, l),
                           ACT(GPT2_ACT_LN2_RSTD, l));
        plan_residual_bwd(p, dresidual, DACT(GPT2_ACT_ATTPROJ, l), DACT(GPT2_ACT_RESIDUAL2, l));
        plan_matmul_bwd(p, DACT(GPT2_ACT_ATTY, l), GRAD(GPT2_ATTPROJW, l, CC),
                        GRAD(GPT2_ATTPROJB, l, C), DACT(GPT2_ACT_ATTPROJ, l), ACT(GPT2_ACT_ATTY, l),
                        PAR(GPT2_ATTPROJW, l, CC), C, C);
        op = plan_add(p, GPT2_OP_ATTENTION_BWD, C);
        op->u.attention_bwd.dinp = DACT(GPT2_ACT_QKV, l);
        op->u.attention_bwd.dpreatt = DACT(GPT2_ACT_PREATT, l);
        op->u.attention_bwd.datt = DACT(GPT2_ACT_ATT, l);
        op->u.attention_bwd.dout = DACT(GPT2_ACT_ATTY, l);
        op->u.attention_bwd.inp = ACT(GPT2_ACT_QKV, l);
        op->u.attention_bwd.att = ACT(GPT2_ACT_ATT, l);
        plan_matmul_bwd(p, DACT(GPT2_ACT_LN1, l), GRAD(GPT2_QKVW, l, C3 * C),
                        GRAD(GPT2_QKVB, l, C3), DACT(GPT2_ACT_QKV, l), ACT(GPT2_ACT_LN1, l),
                        PAR(GPT2_QKVW, l, C3 * C), C, 3 * C);
        plan_layernorm_bwd(p, dresidual, GRAD(GPT2_LN1W, l, C), GRAD(GPT2_LN1B, l, C),
                           DACT(GPT2_ACT_LN1, l), residual, PAR(GPT2_LN1W, l, C),
                           ACT(GPT2_ACT_LN1_MEAN, l), ACT(GPT2_ACT_LN1_RSTD, l));
    }
    op = plan_add(p, GPT2_OP_ENCODER_BWD, C);
    op->oc1 = C;
    op->u.encoder_bwd.dwte = st->grad_t[GPT2_WTE];
    op->u.encoder_bwd.dwpe = st->grad_t[GPT2_WPE];
    op->u.encoder_bwd.dout = DACT(GPT2_ACT_ENCODED, 0);
    op->u.encoder_bwd.tokens = st->inputs;
}

size_t gpt2_plan_build(const gpt2_state_t *st, const gpt2_adamw_t *hp, gpt2_plan_call_t *calls)
{
    plan_t p = {.st = st, .calls = calls, .BT = st->B * st->T, .C = st->cfg.channels};
    p.NH = st->cfg.num_heads;
    p.phase = GPT2_PHASE_ZERO;
    plan_zero(&p, st->grads, st->num_params);
    plan_zero(&p, st->dacts, st->num_dacts);
    p.phase = GPT2_PHASE_FWD;
    plan_forward(&p);
    p.phase = GPT2_PHASE_BWD;
    plan_backward(&p);
    p.phase = GPT2_PHASE_UPDATE;
    gpt2_op_t *op = plan_add(&p, GPT2_OP_ADAMW, 0);
    op->u.adamw.params = st->params;
    op->u.adamw.m = st->m;
    op->u.adamw.v = st->v;
    op->u.adamw.grads = st->grads;
    op->u.adamw.i0 = 0;
    op->u.adamw.i1 = st->num_params;
    gpt2_plan_set_step(op, hp, 1);
    return p.n;
}

float gpt2_plan_mean_loss(const gpt2_state_t *st)
{
    size_t BT = (size_t)st->B * st->T;
    double sum = 0;
    for (size_t i = 0; i < BT; i++)
        sum += st->act_t[GPT2_ACT_LOSSES][i];
    return (float)(sum / (double)BT);
}
