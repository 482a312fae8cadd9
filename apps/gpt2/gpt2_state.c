/*
 * gpt2_state.c: allocates the arenas of one training run (gpt2_state.h) and points the tensor
 * pointers into them, with llm.c's sizes.
 */
#include "gpt2_state.h"

#include "gpt2_ops.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STATE_ALIGN 4096 /* page: PoCL uses USE_HOST_PTR memory in place when it is aligned */

static void *state_alloc(gpt2_mem_t mem, size_t bytes)
{
    if (bytes == 0) bytes = STATE_ALIGN;
#ifdef GPT2_TRAIN_CUDA
    if (mem == GPT2_MEM_CUDA) return gpt2_cuda_alloc(bytes);
#else
    if (mem == GPT2_MEM_CUDA) return NULL;
#endif
    size_t rounded = (bytes + STATE_ALIGN - 1) / STATE_ALIGN * STATE_ALIGN;
    void *p = aligned_alloc(STATE_ALIGN, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

static void state_free(gpt2_mem_t mem, void *p)
{
    if (!p) return;
#ifdef GPT2_TRAIN_CUDA
    if (mem == GPT2_MEM_CUDA) {
        gpt2_cuda_free(p);
        return;
    }
#else
    (void)mem;
#endif
    free(p);
}

static void state_act_sizes(const gpt2_state_t *st, size_t sizes[GPT2_NUM_ACTS])
{
    size_t B = (size_t)st->B, T = (size_t)st->T, C = (size_t)st->cfg.channels;
    size_t L = (size_t)st->cfg.num_layers, NH = (size_t)st->cfg.num_heads;
    size_t Vp = (size_t)st->cfg.padded_vocab_size;
    sizes[GPT2_ACT_ENCODED] = B * T * C;
    sizes[GPT2_ACT_LN1] = L * B * T * C;
    sizes[GPT2_ACT_LN1_MEAN] = L * B * T;
    sizes[GPT2_ACT_LN1_RSTD] = L * B * T;
    sizes[GPT2_ACT_QKV] = L * B * T * 3 * C;
    sizes[GPT2_ACT_ATTY] = L * B * T * C;
    sizes[GPT2_ACT_PREATT] = L * B * NH * T * T;
    sizes[GPT2_ACT_ATT] = L * B * NH * T * T;
    sizes[GPT2_ACT_ATTPROJ] = L * B * T * C;
    sizes[GPT2_ACT_RESIDUAL2] = L * B * T * C;
    sizes[GPT2_ACT_LN2] = L * B * T * C;
    sizes[GPT2_ACT_LN2_MEAN] = L * B * T;
    sizes[GPT2_ACT_LN2_RSTD] = L * B * T;
    sizes[GPT2_ACT_FCH] = L * B * T * 4 * C;
    sizes[GPT2_ACT_FCH_GELU] = L * B * T * 4 * C;
    sizes[GPT2_ACT_FCPROJ] = L * B * T * C;
    sizes[GPT2_ACT_RESIDUAL3] = L * B * T * C;
    sizes[GPT2_ACT_LNF] = B * T * C;
    sizes[GPT2_ACT_LNF_MEAN] = B * T;
    sizes[GPT2_ACT_LNF_RSTD] = B * T;
    sizes[GPT2_ACT_LOGITS] = B * T * Vp;
    sizes[GPT2_ACT_PROBS] = B * T * Vp;
    sizes[GPT2_ACT_LOSSES] = B * T;
}

/* Tensors without a gradient: the loss path ends at the logits, statistics are not inputs. */
static bool state_has_grad(int act)
{
    switch (act) {
    case GPT2_ACT_LN1_MEAN:
    case GPT2_ACT_LN1_RSTD:
    case GPT2_ACT_LN2_MEAN:
    case GPT2_ACT_LN2_RSTD:
    case GPT2_ACT_LNF_MEAN:
    case GPT2_ACT_LNF_RSTD:
    case GPT2_ACT_PROBS:
    case GPT2_ACT_LOSSES:
        return false;
    default:
        return true;
    }
}

int gpt2_state_create(gpt2_state_t **out, const gpt2_config_t *cfg, const float *params, int B,
                      int T, gpt2_mem_t mem)
{
    *out = NULL;
    if (gpt2_config_check(cfg) != 0 || B <= 0 || T <= 0 || T > cfg->max_seq_len) return -EINVAL;
    gpt2_state_t *st = calloc(1, sizeof *st);
    if (!st) return -ENOMEM;
    st->cfg = *cfg;
    st->B = B;
    st->T = T;
    st->mem = mem;
    st->num_params = gpt2_num_params(cfg);
    gpt2_param_sizes(cfg, st->param_sizes);
    state_act_sizes(st, st->act_sizes);
    for (int i = 0; i < GPT2_NUM_ACTS; i++) {
        st->dact_sizes[i] = state_has_grad(i) ? st->act_sizes[i] : 0;
        st->num_acts += st->act_sizes[i];
        st->num_dacts += st->dact_sizes[i];
    }
    size_t pbytes = st->num_params * sizeof(float);
    st->params = state_alloc(mem, pbytes);
    st->grads = state_alloc(mem, pbytes);
    st->m = state_alloc(mem, pbytes);
    st->v = state_alloc(mem, pbytes);
    st->acts = state_alloc(mem, st->num_acts * sizeof(float));
    st->dacts = state_alloc(mem, st->num_dacts * sizeof(float));
    st->tokens = state_alloc(mem, 2 * (size_t)B * T * sizeof(int));
    if (!st->params || !st->grads || !st->m || !st->v || !st->acts || !st->dacts || !st->tokens) {
        gpt2_state_destroy(st);
        return -ENOMEM;
    }
    if (mem == GPT2_MEM_CUDA) { /* managed memory is not zeroed by the allocator */
        memset(st->grads, 0, pbytes);
        memset(st->m, 0, pbytes);
        memset(st->v, 0, pbytes);
        memset(st->acts, 0, st->num_acts * sizeof(float));
        memset(st->dacts, 0, st->num_dacts * sizeof(float));
        memset(st->tokens, 0, 2 * (size_t)B * T * sizeof(int));
    }
    memcpy(st->params, params, pbytes);
    size_t off = 0;
    for (int i = 0; i < GPT2_NUM_PARAM_TENSORS; i++) {
        st->param_t[i] = st->params + off;
        st->grad_t[i] = st->grads + off;
        off += st->param_sizes[i];
    }
    size_t aoff = 0, doff = 0;
    for (int i = 0; i < GPT2_NUM_ACTS; i++) {
        st->act_t[i] = st->acts + aoff;
        st->dact_t[i] = st->dact_sizes[i] ? st->dacts + doff : NULL;
        aoff += st->act_sizes[i];
        doff += st->dact_sizes[i];
    }
    st->inputs = st->tokens;
    st->targets = st->tokens + (size_t)B * T;
    *out = st;
    return 0;
}

void gpt2_state_destroy(gpt2_state_t *st)
{
    if (!st) return;
    state_free(st->mem, st->params);
    state_free(st->mem, st->grads);
    state_free(st->mem, st->m);
    state_free(st->mem, st->v);
    state_free(st->mem, st->acts);
    state_free(st->mem, st->dacts);
    state_free(st->mem, st->tokens);
    free(st);
}

int gpt2_state_each_arena(gpt2_state_t *st, int (*reg)(void *base, size_t bytes))
{
    size_t pbytes = st->num_params * sizeof(float);
    struct {
        void *p;
        size_t bytes;
    } arenas[] = {
        {st->params, pbytes},
        {st->grads, pbytes},
        {st->m, pbytes},
        {st->v, pbytes},
        {st->acts, st->num_acts * sizeof(float)},
        {st->dacts, st->num_dacts * sizeof(float)},
        {st->tokens, 2 * (size_t)st->B * st->T * sizeof(int)},
    };
    for (size_t i = 0; i < sizeof arenas / sizeof arenas[0]; i++) {
        int rc = reg(arenas[i].p, arenas[i].bytes);
        if (rc != 0) return rc;
    }
    return 0;
}

size_t gpt2_state_act_layer(const gpt2_state_t *st, int act)
{
    switch (act) {
    case GPT2_ACT_ENCODED:
    case GPT2_ACT_LNF:
    case GPT2_ACT_LNF_MEAN:
    case GPT2_ACT_LNF_RSTD:
    case GPT2_ACT_LOGITS:
    case GPT2_ACT_PROBS:
    case GPT2_ACT_LOSSES:
        return st->act_sizes[act];
    default:
        return st->act_sizes[act] / (size_t)st->cfg.num_layers;
    }
}
