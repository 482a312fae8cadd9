/*
 * gpt2_cpu_attention.h: the CPU attention kernels, private to gpt2_cpu (gpt2_cpu_run dispatches
 * GPT2_OP_ATTENTION_FWD and GPT2_OP_ATTENTION_BWD here).
 */
#ifndef GPT2_CPU_ATTENTION_H
#define GPT2_CPU_ATTENTION_H

#include "gpt2_ops.h"

/* Causal attention forward on the op's rows and heads (already checked by gpt2_cpu_run). */
void gpt2_cpu_attention_fwd(const gpt2_op_t *op);
/* Its backward on the op's rows (in decreasing t) and heads (already checked). */
void gpt2_cpu_attention_bwd(const gpt2_op_t *op);

#endif
