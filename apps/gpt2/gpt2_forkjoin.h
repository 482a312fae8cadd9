/*
 * gpt2_forkjoin.h: the fork-join baseline: the same kernel calls as the task graph
 * (gpt2_plan.h), run one after another in this process, each as an OpenMP parallel loop over
 * slices of gpt2_cpu_run, with OpenBLAS single-threaded inside (the source paper's fork-join
 * version of llm.c). No nodus session: this is what the task graph is compared against.
 */
#ifndef GPT2_FORKJOIN_H
#define GPT2_FORKJOIN_H

#include "gpt2_plan.h"
#include "gpt2_state.h"

#include <stddef.h>

/* A fork-join runner (opaque). */
typedef struct gpt2_forkjoin gpt2_forkjoin_t;

/* Prepares the step's calls for `st` (borrowed). 0 or -ENOMEM. *out: gpt2_forkjoin_destroy. */
int gpt2_forkjoin_create(gpt2_forkjoin_t **out, gpt2_state_t *st, const gpt2_adamw_t *hp);
void gpt2_forkjoin_destroy(gpt2_forkjoin_t *fj);

/* Runs training step `step` (1-based) with learning rate `lr`; *loss: the batch's mean loss. */
int gpt2_forkjoin_step(gpt2_forkjoin_t *fj, int step, float lr, float *loss);
/* Runs the forward pass and the losses only. */
int gpt2_forkjoin_forward(gpt2_forkjoin_t *fj, float *loss);

/* Threads of the parallel loops (OMP_NUM_THREADS). */
int gpt2_forkjoin_threads(const gpt2_forkjoin_t *fj);

#endif
