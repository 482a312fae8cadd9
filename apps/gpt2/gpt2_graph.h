/*
 * gpt2_graph.h: one GPT-2 training step as a nodus data-flow graph.
 *
 * Every kernel call of the step (gpt2_plan.h) is cut into tasks along the batch and sequence
 * rows (--b-gran, --t-gran) and the output channels or heads (--oc-split), as the source paper's
 * B_GRAN, T_GRAN and OC_SPLIT; each task declares the exact byte ranges its slice reads and
 * writes, and offers the implementations asked for (CPU, OpenCL, CUDA: a multi-version task when
 * several). The whole step (zeroing, forward, loss, backward, AdamW) is submitted with no wait
 * inside it; the one taskwait at the end is where the loss is read.
 *
 * The tasks and their accesses are built once, at create, and resubmitted every step: the ops
 * live in the graph and are rewritten (AdamW's step) only after the previous step's taskwait.
 * One graph is used from one thread.
 */
#ifndef GPT2_GRAPH_H
#define GPT2_GRAPH_H

#include "gpt2_plan.h"
#include "gpt2_state.h"

#include <nodus.h>

#include <stdbool.h>
#include <stddef.h>

/* Implementations a task may offer (a mask). */
#define GPT2_GRAPH_CPU    1u
#define GPT2_GRAPH_OPENCL 2u
#define GPT2_GRAPH_CUDA   4u

/* How the kernels are cut. */
typedef struct {
    int b_gran;     /* sequences per row slice when slices hold whole sequences (>= 1) */
    int t_gran;     /* positions per row slice (a slice then stays in one sequence); 0: T */
    int oc_split;   /* slices of a matmul's output channels, and head groups of attention */
    unsigned impls; /* GPT2_GRAPH_* implementations to offer; CPU is the only one for zeroing
                       unless CUDA is offered */
} gpt2_graph_opts_t;

/* A built graph (opaque). */
typedef struct gpt2_graph gpt2_graph_t;

/*
 * Builds the tasks of a step for `st` (borrowed; must outlive the graph) on session `n`
 * (borrowed). 0, -EINVAL for bad options, or -ENOMEM / a nodus error. *out: gpt2_graph_destroy.
 */
int gpt2_graph_create(gpt2_graph_t **out, nodus_t *n, gpt2_state_t *st,
                      const gpt2_graph_opts_t *opts, const gpt2_adamw_t *hp);
/* Frees the graph (no task of it may be in flight: every call below ends with a taskwait). */
void gpt2_graph_destroy(gpt2_graph_t *g);

/* Submits training step `step` (1-based; AdamW's bias correction) with learning rate `lr`,
 * waits for it, and stores the mean loss of the batch in st->inputs/targets in *loss. 0 or a
 * nodus error. */
int gpt2_graph_step(gpt2_graph_t *g, int step, float lr, float *loss);
/* Submits the forward pass only (and per-row losses), waits, stores the mean loss. */
int gpt2_graph_forward(gpt2_graph_t *g, float *loss);

/* Tasks of a full step (forward_only: of a forward pass). */
size_t gpt2_graph_num_tasks(const gpt2_graph_t *g, bool forward_only);
/* Write accesses that had to be declared coarser than the slice (whole rows where the slice
 * is a column range, when a task would have needed too many ranges). */
size_t gpt2_graph_num_coarse(const gpt2_graph_t *g);

#endif
