/*
 * gpt2_plan.h: one training step as the sequence of whole kernel calls that llm.c's
 * train_gpt2.c makes (zero the gradients, forward, loss, backward, AdamW), each a gpt2_op_t over
 * its full range (all rows, all output channels, all heads). The task graph (gpt2_graph.c) and
 * the fork-join baseline (gpt2_forkjoin.c) both start from this list and differ only in how they
 * cut each call into slices and run them, so the two run exactly the same model.
 */
#ifndef GPT2_PLAN_H
#define GPT2_PLAN_H

#include "gpt2_ops.h"
#include "gpt2_state.h"

#include <stddef.h>

/* A plan-only kind beside the gpt2_op_kind_t ones: memset of [ptr, ptr+bytes). */
#define GPT2_PLAN_ZERO ((int)GPT2_OP_COUNT)

/* Where a call belongs in the step; a forward-only pass (validation, sampling) runs FWD only. */
typedef enum {
    GPT2_PHASE_ZERO,   /* zero the accumulated gradients */
    GPT2_PHASE_FWD,    /* forward, softmax and per-row losses */
    GPT2_PHASE_BWD,    /* backward */
    GPT2_PHASE_UPDATE, /* AdamW */
} gpt2_phase_t;

/* One whole kernel call. */
typedef struct {
    int kind; /* a gpt2_op_kind_t, or GPT2_PLAN_ZERO */
    gpt2_phase_t phase;
    gpt2_op_t op;   /* kind != GPT2_PLAN_ZERO: the op over its whole range */
    void *zero_ptr; /* kind == GPT2_PLAN_ZERO */
    size_t zero_bytes;
} gpt2_plan_call_t;

/* AdamW hyper-parameters. */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} gpt2_adamw_t;

/* Upper bound on the number of calls of a step for a model of L layers. */
size_t gpt2_plan_max_calls(int num_layers);

/* Fills calls[] (gpt2_plan_max_calls entries) with the step for `st`, in program order; returns
 * the count. The AdamW call carries `hp` and step 1: gpt2_plan_set_step changes those. */
size_t gpt2_plan_build(const gpt2_state_t *st, const gpt2_adamw_t *hp, gpt2_plan_call_t *calls);

/* Sets hyper-parameters and 1-based step number on an AdamW op. */
void gpt2_plan_set_step(gpt2_op_t *adamw_op, const gpt2_adamw_t *hp, int step);

/* Mean of the per-row losses of the last forward pass (reads st->act_t[GPT2_ACT_LOSSES]). */
float gpt2_plan_mean_loss(const gpt2_state_t *st);

#endif
