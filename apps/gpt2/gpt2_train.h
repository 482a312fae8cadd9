/*
 * gpt2_train.h: the `nodus-gpt2 train` command: load a model and token files, run the training
 * loop as a nodus task graph per step (gpt2_graph.h) or as the OpenMP fork-join baseline
 * (gpt2_forkjoin.h), report loss and speed per step, validate, sample text, and write a
 * checkpoint.
 */
#ifndef GPT2_TRAIN_H
#define GPT2_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "gpt2_graph.h"

/* Which kernels the tasks offer. */
typedef enum {
    GPT2_IMPL_CPU,    /* C kernels with OpenBLAS */
    GPT2_IMPL_OPENCL, /* OpenCL kernels (PoCL here) */
    GPT2_IMPL_CUDA,   /* CUDA kernels with cuBLAS */
    GPT2_IMPL_MIXED,  /* every available one: multi-version tasks, the daemon picks */
} gpt2_impl_t;

/* Everything `train` takes from its command line. Strings are borrowed. */
typedef struct {
    const char *model, *data, *val, *out, *tokenizer, *socket;
    int batch, seq, steps;
    gpt2_adamw_t adamw;
    bool shuffle;
    uint64_t seed;
    int val_every, val_batches;
    int sample_len; /* 0: no sample */
    bool greedy;
    gpt2_impl_t impl;
    bool forkjoin;
    int b_gran, t_gran, oc_split;
    bool quiet;
} gpt2_train_opts_t;

/* Fills the defaults (see `nodus-gpt2 train --help`). */
void gpt2_train_defaults(gpt2_train_opts_t *o);

/* Runs a training as `o` says; returns the process exit status (0 ok, 1 failed). */
int gpt2_train_run(const gpt2_train_opts_t *o);

/* The `train` command: argv[0] is "train", options follow. Returns the exit status (2: usage). */
int gpt2_train_main(int argc, char **argv);

/* The `sample` command: a text sample from a model file, no training (train's sampling options;
 * batch 1, T = the sample's length + 1). Returns the exit status. */
int gpt2_sample_main(int argc, char **argv);

#endif
