/*
 * gpt2_file.h: what the llm.c file readers and writers of nodus-gpt2 share (gpt2_model.c,
 * gpt2_data.c, gpt2_tokenizer.c, gpt2_bpe.c): error messages, the replace-by-rename write, and
 * the seeded generator.
 */
#ifndef GPT2_FILE_H
#define GPT2_FILE_H

#include <stdint.h>
#include <stdio.h>

/* Formats a message into err[errlen]; nothing when err is NULL or errlen is 0. */
void gpt2_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A file written in place of `path` only once complete: writes go to a temporary file beside it
 * ("PATH.tmp.PID"), renamed over `path` by gpt2_replace_commit(), so a crash or a failed write
 * never leaves a torn file where a good one was.
 */
typedef struct gpt2_replace {
    FILE *f; /* write here */
    char *tmp;
    const char *path;
} gpt2_replace_t;

/* Opens the temporary file: 0, or a negative errno (nothing to commit then). */
int gpt2_replace_open(gpt2_replace_t *r, const char *path);

/*
 * Ends the write: with rc == 0 (the caller's writes succeeded), closes and renames the file over
 * `path`; otherwise, or when closing or renaming fails, removes it. Returns rc, or the negative
 * errno of the close or rename.
 */
int gpt2_replace_commit(gpt2_replace_t *r, int rc);

/* The negative errno of a failed stdio write, -EIO when stdio left errno 0. */
int gpt2_write_error(void);

/* splitmix64: a small, well-mixed generator; deterministic across platforms for one seed. */
uint64_t gpt2_splitmix64(uint64_t *state);

#endif
