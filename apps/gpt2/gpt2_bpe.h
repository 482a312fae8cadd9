/*
 * gpt2_bpe.h: GPT-2's byte-level BPE encoder (text -> token ids), from OpenAI's encoder.json and
 * vocab.bpe (scripts/fetch-gpt2-tokenizer.sh puts them in data/gpt2/).
 *
 * encode() gives the ids OpenAI's encoder.py gives for the same text: GPT-2's pre-tokenization
 * regex (PCRE2, Unicode mode), the bytes of each piece, then the merges by rank. Text is plain
 * text: "<|endoftext|>" in it is encoded as its characters; a caller adds GPT2_BPE_EOT itself.
 * Bytes that are not valid UTF-8 are encoded as byte tokens, so encoding never fails on input and
 * decoding the ids always gives back the input bytes. An encoder keeps a cache of the pieces it
 * has seen: use one encoder from one thread at a time (one encoder per thread is fine).
 */
#ifndef GPT2_BPE_H
#define GPT2_BPE_H

#include <stddef.h>
#include <stdint.h>

/* GPT-2's <|endoftext|> token id. */
#define GPT2_BPE_EOT 50256

/* A growable array of token ids: zero-initialise, append with gpt2_tokens_push or
 * gpt2_bpe_encode, free with gpt2_tokens_free. */
typedef struct {
    int32_t *ids;
    size_t len;
    size_t cap;
} gpt2_tokens_t;

/* Appends one id; 0 or -ENOMEM. */
int gpt2_tokens_push(gpt2_tokens_t *t, int32_t id);
/* Frees the ids and zeroes the array. */
void gpt2_tokens_free(gpt2_tokens_t *t);

/* An encoder (opaque). */
typedef struct gpt2_bpe gpt2_bpe_t;

/*
 * Loads encoder.json and vocab.bpe. 0, or a negative errno (-ENOENT missing file, -EINVAL bad
 * content, -ENOMEM) with a one-line reason in `err` (may be NULL). *out: free with gpt2_bpe_free.
 */
int gpt2_bpe_load(gpt2_bpe_t **out, const char *encoder_json, const char *vocab_bpe, char *err,
                  size_t errlen);
/* Loads DIR/encoder.json and DIR/vocab.bpe, as gpt2_bpe_load. */
int gpt2_bpe_load_dir(gpt2_bpe_t **out, const char *dir, char *err, size_t errlen);
/* Frees an encoder; NULL is a no-op. */
void gpt2_bpe_free(gpt2_bpe_t *bpe);

/* Appends the token ids of text[len] (UTF-8, may hold NULs) to *out; 0 or -ENOMEM (then *out
 * holds the ids of a prefix of the text). */
int gpt2_bpe_encode(gpt2_bpe_t *bpe, const char *text, size_t len, gpt2_tokens_t *out);

/* Number of tokens in encoder.json (50257 for GPT-2). */
int gpt2_bpe_vocab_size(const gpt2_bpe_t *bpe);
/* Number of merges in vocab.bpe (50000 for GPT-2). */
int gpt2_bpe_num_merges(const gpt2_bpe_t *bpe);
/* The raw bytes of token `id` (borrowed, valid until gpt2_bpe_free; not NUL-terminated), with
 * their count in *len; NULL for an id out of range. */
const unsigned char *gpt2_bpe_token_bytes(const gpt2_bpe_t *bpe, int id, size_t *len);
/* The id of "<|endoftext|>" in encoder.json, or -1 when it has none. */
int gpt2_bpe_eot(const gpt2_bpe_t *bpe);
/* Distinct pieces in the encoder's cache (for tests and statistics). */
size_t gpt2_bpe_cache_size(const gpt2_bpe_t *bpe);

#endif
