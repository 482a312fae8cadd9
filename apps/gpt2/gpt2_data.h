/*
 * gpt2_data.h: llm.c's token files and the batch loader that feeds training.
 *
 * A token file is llm.c's (dev/data/data_common.py): a 256-int32 little-endian header (magic
 * 20240520, version 1, token count) followed by that many uint16 GPT-2 token ids.
 *
 * The loader cuts the file into sequences of T+1 tokens at stride T (sequence s covers tokens
 * s*T .. s*T+T): inputs are the first T, targets the last T, so targets are the inputs shifted by
 * one. A batch is B sequences. In order, batch i is exactly llm.c's batch i (B*T+1 contiguous
 * tokens); shuffled, each epoch visits the sequences in a permutation drawn from (seed, epoch).
 * num_batches = (tokens - 1) / (B*T); after the last batch of an epoch, the next call starts the
 * next epoch. The file is mapped read-only; one loader is used from one thread at a time, and
 * several loaders (train, validation) may share a file.
 */
#ifndef GPT2_DATA_H
#define GPT2_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GPT2_DATA_MAGIC   20240520
#define GPT2_DATA_VERSION 1

/* Writes tokens[n] (each in 0..65535, n <= INT32_MAX) as an llm.c token file, atomically
 * (temporary file + rename); 0, -ERANGE for a token or count out of range, or a negative errno. */
int gpt2_data_write(const char *path, const int32_t *tokens, size_t n);

/*
 * Reads a token file into a malloc'd array (*tokens, caller frees; *n tokens). 0 or a negative
 * errno (-EINVAL bad magic/version/size, -EIO truncated); `err` (may be NULL) gets the reason.
 */
int gpt2_data_read(const char *path, uint16_t **tokens, size_t *n, char *err, size_t errlen);

/* A batch loader over one token file (opaque). */
typedef struct gpt2_loader gpt2_loader_t;

/*
 * Opens `path` for batches of B x T. shuffle=false gives llm.c's order; shuffle=true a
 * permutation of the sequences per epoch, deterministic for `seed`. 0, or -EINVAL (bad file, or
 * fewer than B*T+1 tokens: not one batch) or another negative errno, with the reason in `err`.
 */
int gpt2_loader_open(gpt2_loader_t **out, const char *path, int B, int T, bool shuffle,
                     uint64_t seed, char *err, size_t errlen);
/* Unmaps and frees the loader; NULL is a no-op. */
void gpt2_loader_close(gpt2_loader_t *ld);

/* Fills inputs[B*T] and targets[B*T] (row-major [B][T], caller's buffers) with the next batch and
 * advances, wrapping to the next epoch after the last batch; returns 0. */
int gpt2_loader_next(gpt2_loader_t *ld, int *inputs, int *targets);
/* Back to the first batch of epoch 0: the same batches as after open, in the same order. */
void gpt2_loader_reset(gpt2_loader_t *ld);

/* Batches per epoch: (tokens - 1) / (B*T), at least 1. */
size_t gpt2_loader_num_batches(const gpt2_loader_t *ld);
/* Index in the epoch of the batch that the next call to gpt2_loader_next returns. */
size_t gpt2_loader_position(const gpt2_loader_t *ld);
/* The epoch of the batch that the next call returns (0 after open or reset). */
uint64_t gpt2_loader_epoch(const gpt2_loader_t *ld);
/* Tokens in the file. */
size_t gpt2_loader_num_tokens(const gpt2_loader_t *ld);
/* The largest token id in the file: check it against the model's vocab_size before training. */
int gpt2_loader_max_token(const gpt2_loader_t *ld);

#endif
