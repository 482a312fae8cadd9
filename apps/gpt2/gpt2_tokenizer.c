/*
 * gpt2_tokenizer.c: llm.c's tokenizer file: read it to decode ids, write it from encoder.json.
 *
 * Reading follows llm.c's tokenizer_init, including version 1 files (vocab_size 50257, eot
 * 50256), but reports a bad file instead of asserting. The tokens are kept in one buffer with an
 * offset table, so decoding is two array reads.
 */
#include "gpt2_tokenizer.h"
#include "gpt2_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llm.c's files are little-endian; this code reads them as native integers"
#endif

#define TOK_HEADER_INTS 256
#define TOK_MAX_VOCAB   (1 << 24)

struct gpt2_tokenizer {
    int vocab_size, eot;
    unsigned char *bytes; /* every token, back to back */
    uint32_t *off;        /* [vocab_size + 1] */
};

int gpt2_tokenizer_read(gpt2_tokenizer_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    int rc = 0;
    int32_t header[TOK_HEADER_INTS];
    gpt2_tokenizer_t *tok = calloc(1, sizeof(*tok));
    if (!tok) {
        rc = -ENOMEM;
        goto out;
    }
    if (fread(header, sizeof(int32_t), TOK_HEADER_INTS, f) != TOK_HEADER_INTS) {
        gpt2_seterr(err, errlen, "%s: shorter than the 1024-byte header", path);
        rc = -EIO;
        goto out;
    }
    if (header[0] != GPT2_TOKENIZER_MAGIC) {
        gpt2_seterr(err, errlen, "%s: bad magic %d (an llm.c tokenizer file has %d)", path,
                    header[0], GPT2_TOKENIZER_MAGIC);
        rc = -EINVAL;
        goto out;
    }
    tok->vocab_size = header[2];
    if (header[1] == 1) {
        tok->eot = GPT2_BPE_EOT; /* version 1 is GPT-2's vocabulary only */
        if (tok->vocab_size != 50257) {
            gpt2_seterr(err, errlen, "%s: version 1 with vocab_size %d (not GPT-2's 50257)", path,
                        tok->vocab_size);
            rc = -EINVAL;
            goto out;
        }
    } else if (header[1] == GPT2_TOKENIZER_VERSION) {
        tok->eot = header[3];
    } else {
        gpt2_seterr(err, errlen, "%s: version %d is not supported (1 or 2)", path, header[1]);
        rc = -EINVAL;
        goto out;
    }
    if (tok->vocab_size <= 0 || tok->vocab_size > TOK_MAX_VOCAB || tok->eot < 0 ||
        tok->eot >= tok->vocab_size) {
        gpt2_seterr(err, errlen, "%s: bad vocab_size %d or eot_token %d", path, tok->vocab_size,
                    tok->eot);
        rc = -EINVAL;
        goto out;
    }
    size_t n = (size_t)tok->vocab_size;
    tok->off = malloc((n + 1) * sizeof(uint32_t));
    /* the token bytes fit in what follows the header; a short file fails below */
    struct stat st;
    size_t room = n * 255;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < room)
        room = (size_t)st.st_size;
    tok->bytes = malloc(room ? room : 1);
    if (!tok->off || !tok->bytes) {
        rc = -ENOMEM;
        goto out;
    }
    uint32_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int len = fgetc(f);
        if (len == EOF || used + (size_t)len > room ||
            fread(tok->bytes + used, 1, (size_t)len, f) != (size_t)len) {
            gpt2_seterr(err, errlen, "%s: truncated at token %zu of %zu", path, i, n);
            rc = -EIO;
            goto out;
        }
        if (len == 0) {
            gpt2_seterr(err, errlen, "%s: token %zu is empty", path, i);
            rc = -EINVAL;
            goto out;
        }
        tok->off[i] = used;
        used += (uint32_t)len;
    }
    tok->off[n] = used;
    unsigned char *shrunk = realloc(tok->bytes, used);
    if (shrunk) tok->bytes = shrunk;
out:
    if (rc == -ENOMEM) gpt2_seterr(err, errlen, "%s: out of memory", path);
    fclose(f);
    if (rc != 0) {
        gpt2_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return 0;
}

void gpt2_tokenizer_free(gpt2_tokenizer_t *tok)
{
    if (!tok) return;
    free(tok->bytes);
    free(tok->off);
    free(tok);
}

int gpt2_tokenizer_vocab_size(const gpt2_tokenizer_t *tok)
{
    return tok->vocab_size;
}

int gpt2_tokenizer_eot(const gpt2_tokenizer_t *tok)
{
    return tok->eot;
}

const unsigned char *gpt2_tokenizer_decode(const gpt2_tokenizer_t *tok, int id, size_t *len)
{
    if (id < 0 || id >= tok->vocab_size) return NULL;
    *len = tok->off[id + 1] - tok->off[id];
    return tok->bytes + tok->off[id];
}

int gpt2_tokenizer_decode_all(const gpt2_tokenizer_t *tok, const int32_t *ids, size_t n,
                              char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->vocab_size) return -EINVAL;
        total += tok->off[ids[i] + 1] - tok->off[ids[i]];
    }
    char *s = malloc(total + 1);
    if (!s) return -ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = tok->off[ids[i] + 1] - tok->off[ids[i]];
        memcpy(s + used, tok->bytes + tok->off[ids[i]], l);
        used += l;
    }
    s[used] = '\0';
    *text = s;
    *len = used;
    return 0;
}

int gpt2_tokenizer_write(const char *path, const gpt2_bpe_t *bpe)
{
    int n = gpt2_bpe_vocab_size(bpe), eot = gpt2_bpe_eot(bpe);
    if (eot < 0) return -EINVAL;
    for (int i = 0; i < n; i++) {
        size_t len;
        if (!gpt2_bpe_token_bytes(bpe, i, &len) || len == 0 || len > 255) return -EINVAL;
    }
    int32_t header[TOK_HEADER_INTS] = {0};
    header[0] = GPT2_TOKENIZER_MAGIC;
    header[1] = GPT2_TOKENIZER_VERSION;
    header[2] = n;
    header[3] = eot;
    gpt2_replace_t out;
    int rc = gpt2_replace_open(&out, path);
    if (rc != 0) return rc;
    if (fwrite(header, sizeof(int32_t), TOK_HEADER_INTS, out.f) != TOK_HEADER_INTS)
        rc = gpt2_write_error();
    for (int i = 0; rc == 0 && i < n; i++) {
        size_t len;
        const unsigned char *b = gpt2_bpe_token_bytes(bpe, i, &len);
        if (fputc((int)len, out.f) == EOF || fwrite(b, 1, len, out.f) != len)
            rc = gpt2_write_error();
    }
    return gpt2_replace_commit(&out, rc);
}
