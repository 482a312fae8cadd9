/*
 * gpt2_tokenizer.h: llm.c's tokenizer file, for decoding token ids back to bytes.
 *
 * The file is llm.c's (train_gpt2.py's write_tokenizer, read by llm.c's tokenizer.h): a 256-int32
 * little-endian header (magic 20240328, version 2, vocab_size, eot_token; version 1 has no
 * eot_token and means GPT-2's 50256), then for each token in id order a uint8 length (1..255) and
 * the token's raw bytes. A token may end in the middle of a UTF-8 character: printing decoded
 * text safely is the caller's business.
 */
#ifndef GPT2_TOKENIZER_H
#define GPT2_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "gpt2_bpe.h"

#define GPT2_TOKENIZER_MAGIC   20240328
#define GPT2_TOKENIZER_VERSION 2

/* A decoding table (opaque). */
typedef struct gpt2_tokenizer gpt2_tokenizer_t;

/*
 * Reads a tokenizer file. 0, or a negative errno (-EINVAL bad magic/version/content, -EIO
 * truncated) with the reason in `err` (may be NULL). *out: free with gpt2_tokenizer_free.
 */
int gpt2_tokenizer_read(gpt2_tokenizer_t **out, const char *path, char *err, size_t errlen);
/* Frees a tokenizer; NULL is a no-op. */
void gpt2_tokenizer_free(gpt2_tokenizer_t *tok);

/* Number of tokens in the file. */
int gpt2_tokenizer_vocab_size(const gpt2_tokenizer_t *tok);
/* The end-of-text token id (50256 for GPT-2). */
int gpt2_tokenizer_eot(const gpt2_tokenizer_t *tok);
/* The raw bytes of token `id` (borrowed until gpt2_tokenizer_free, not NUL-terminated) and their
 * count in *len; NULL for an id out of range (e.g. a padded-vocabulary row the model sampled). */
const unsigned char *gpt2_tokenizer_decode(const gpt2_tokenizer_t *tok, int id, size_t *len);
/* Decodes ids[n] into a malloc'd NUL-terminated string (*text, caller frees; *len bytes without
 * the NUL); 0, -EINVAL for an id out of range, or -ENOMEM. */
int gpt2_tokenizer_decode_all(const gpt2_tokenizer_t *tok, const int32_t *ids, size_t n,
                              char **text, size_t *len);

/* Writes the tokenizer file of an encoder's vocabulary (version 2, eot = "<|endoftext|>"),
 * atomically; 0, -EINVAL (no <|endoftext|>, or a token of 0 or more than 255 bytes), or a
 * negative errno. */
int gpt2_tokenizer_write(const char *path, const gpt2_bpe_t *bpe);

#endif
