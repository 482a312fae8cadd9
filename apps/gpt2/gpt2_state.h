/*
 * gpt2_state.h: everything one training run keeps in memory, as a few large arenas.
 *
 * Arenas: parameters, gradients, AdamW's m and v, activations, activation gradients, and the
 * batch's token ids (inputs, targets). Each arena is one allocation, page-aligned host memory or
 * CUDA managed memory, so that the OpenCL implementation can wrap it in one USE_HOST_PTR buffer
 * (gpt2_ocl_register) and the CUDA one can address it as it is. The activations follow llm.c's
 * train_gpt2.c: every layer keeps its B*T*... tensors for the backward pass. The activation
 * gradients have the same layout except that probs, losses and the layernorm statistics have
 * no gradient (their slots are empty).
 */
#ifndef GPT2_STATE_H
#define GPT2_STATE_H

#include "gpt2_model.h"

#include <stdbool.h>
#include <stddef.h>

/* Activation tensors, llm.c's order; per-layer tensors hold L slices of the size given. */
enum {
    GPT2_ACT_ENCODED,   /* (B, T, C) */
    GPT2_ACT_LN1,       /* (L, B, T, C) */
    GPT2_ACT_LN1_MEAN,  /* (L, B, T) */
    GPT2_ACT_LN1_RSTD,  /* (L, B, T) */
    GPT2_ACT_QKV,       /* (L, B, T, 3C) */
    GPT2_ACT_ATTY,      /* (L, B, T, C) */
    GPT2_ACT_PREATT,    /* (L, B, NH, T, T) */
    GPT2_ACT_ATT,       /* (L, B, NH, T, T) */
    GPT2_ACT_ATTPROJ,   /* (L, B, T, C) */
    GPT2_ACT_RESIDUAL2, /* (L, B, T, C) */
    GPT2_ACT_LN2,       /* (L, B, T, C) */
    GPT2_ACT_LN2_MEAN,  /* (L, B, T) */
    GPT2_ACT_LN2_RSTD,  /* (L, B, T) */
    GPT2_ACT_FCH,       /* (L, B, T, 4C) */
    GPT2_ACT_FCH_GELU,  /* (L, B, T, 4C) */
    GPT2_ACT_FCPROJ,    /* (L, B, T, C) */
    GPT2_ACT_RESIDUAL3, /* (L, B, T, C) */
    GPT2_ACT_LNF,       /* (B, T, C) */
    GPT2_ACT_LNF_MEAN,  /* (B, T) */
    GPT2_ACT_LNF_RSTD,  /* (B, T) */
    GPT2_ACT_LOGITS,    /* (B, T, Vp) */
    GPT2_ACT_PROBS,     /* (B, T, Vp) */
    GPT2_ACT_LOSSES,    /* (B, T) */
    GPT2_NUM_ACTS
};

/* Where the arenas live. */
typedef enum {
    GPT2_MEM_HOST, /* page-aligned host memory (CPU, OpenCL on PoCL) */
    GPT2_MEM_CUDA, /* managed memory from gpt2_cuda_alloc (CUDA, mixed with CUDA) */
} gpt2_mem_t;

/* One model with its training buffers for batches of B x T. Fields are read-only after create. */
typedef struct gpt2_state {
    gpt2_config_t cfg;
    int B, T;
    gpt2_mem_t mem;
    size_t num_params;
    size_t param_sizes[GPT2_NUM_PARAM_TENSORS];
    float *params, *grads, *m, *v; /* arenas of num_params floats */
    float *param_t[GPT2_NUM_PARAM_TENSORS], *grad_t[GPT2_NUM_PARAM_TENSORS];
    size_t act_sizes[GPT2_NUM_ACTS];  /* floats per tensor (all layers) */
    size_t dact_sizes[GPT2_NUM_ACTS]; /* 0 where a tensor has no gradient */
    size_t num_acts, num_dacts;
    float *acts, *dacts;                                 /* arenas */
    float *act_t[GPT2_NUM_ACTS], *dact_t[GPT2_NUM_ACTS]; /* NULL for an empty slot */
    int *tokens;                                         /* arena: inputs[B*T] then targets[B*T] */
    int *inputs, *targets;
} gpt2_state_t;

/*
 * Allocates the arenas for `cfg` and batches of B x T (T <= maxT), copies `params` (borrowed,
 * gpt2_num_params floats) in, and zeroes the rest. 0, -EINVAL for a bad shape, or -ENOMEM.
 * *out: free with gpt2_state_destroy.
 */
int gpt2_state_create(gpt2_state_t **out, const gpt2_config_t *cfg, const float *params, int B,
                      int T, gpt2_mem_t mem);
/* Frees the arenas (after gpt2_ocl_fini when they were registered); NULL is a no-op. */
void gpt2_state_destroy(gpt2_state_t *st);

/* Calls reg(base, bytes) for every arena (gpt2_ocl_register); the first error, or 0. */
int gpt2_state_each_arena(gpt2_state_t *st, int (*reg)(void *base, size_t bytes));

/* Floats per layer of a per-layer activation tensor (act_sizes / L), or its whole size. */
size_t gpt2_state_act_layer(const gpt2_state_t *st, int act);

#endif
