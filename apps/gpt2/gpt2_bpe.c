/*
 * gpt2_bpe.c: GPT-2's byte-level BPE encoder.
 *
 * Tokens are handled as ids, never as strings: encoder.json's keys are turned back from GPT-2's
 * byte-to-unicode alphabet into raw bytes, each byte has a one-byte token, and every merge in
 * vocab.bpe becomes (left id, right id) -> (rank, merged id) in an open-addressing table. A piece
 * is then merged with a heap of candidate pairs ordered by (rank, position) over a linked list
 * of symbols: O(n log n) for a piece of n bytes, where encoder.py's loop is O(n^2) — which
 * matters for long runs of spaces or punctuation. The result is the same as encoder.py's
 * (merge every occurrence of the lowest-ranked pair, left to right, repeat) because every merge
 * in the file uses only tokens made by earlier merges: a merge never creates a pair ranked below
 * itself, so the heap meets each rank's occurrences together and left to right. The loader
 * checks that property and refuses a file without it.
 *
 * Pre-tokenization is GPT-2's regex compiled by PCRE2 with UTF and UCP (\s, \p{L} and \p{N} by
 * Unicode properties) and JIT. PCRE2's \s is Unicode White_Space; Python's str \s also matches
 * the control characters 0x1c-0x1f, so text with those may split differently than encoder.py.
 * Each piece's ids are cached by its bytes, so a corpus costs one BPE per distinct word.
 */
#include "gpt2_bpe.h"
#include "gpt2_file.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <json-c/json.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GPT-2's pre-tokenization regex (encoder.py). */
static const char bpe_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* The cache stops growing past these (a corpus of unbounded distinct words stays bounded). */
#define BPE_CACHE_MAX_ENTRIES (1u << 21)
#define BPE_CACHE_MAX_BYTES   (256u << 20)

/* A string-keyed open-addressing table: the vocabulary while loading, the piece cache after. */
typedef struct {
    uint64_t hash; /* 0: empty slot */
    uint32_t key_off, key_len;
    uint32_t val_off, val_len; /* vocabulary: val_off is the id */
} bpe_slot_t;

typedef struct {
    bpe_slot_t *slots;
    size_t cap, count; /* cap: a power of two */
    char *keys;
    size_t keys_len, keys_cap;
} bpe_strmap_t;

/* (left, right) -> (rank, merged); rank < 0 marks an empty slot. */
typedef struct {
    uint64_t pair;
    int32_t rank;
    int32_t merged;
} bpe_merge_t;

/* A candidate merge of the symbols at positions left and right. */
typedef struct {
    int32_t rank, left, right;
} bpe_cand_t;

struct gpt2_bpe {
    int vocab_size, num_merges, eot;
    unsigned char *tok_bytes; /* every token's bytes, back to back */
    uint32_t *tok_off;        /* [vocab_size + 1] */
    int32_t byte_token[256];
    bpe_merge_t *merges;
    size_t merges_cap; /* a power of two */
    pcre2_code *re;
    pcre2_match_data *md;
    bpe_strmap_t cache;
    int32_t *cache_ids;
    size_t cache_ids_len, cache_ids_cap;
    /* scratch for one piece */
    int32_t *sym, *next, *prev;
    bpe_cand_t *heap;
    size_t scratch_cap, heap_len, heap_cap;
};

/* Grows *buf (elements of `size` bytes) to hold at least `need`; 0 or -ENOMEM. */
static int bpe_reserve(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*buf, n * size);
    if (!p) return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

int gpt2_tokens_push(gpt2_tokens_t *t, int32_t id)
{
    if (bpe_reserve((void **)&t->ids, &t->cap, t->len + 1, sizeof(int32_t)) != 0) return -ENOMEM;
    t->ids[t->len++] = id;
    return 0;
}

void gpt2_tokens_free(gpt2_tokens_t *t)
{
    free(t->ids);
    t->ids = NULL;
    t->len = t->cap = 0;
}

/* FNV-1a, 64 bits; never 0 (0 marks an empty slot). */
static uint64_t bpe_hash(const unsigned char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h ? h : 1;
}

/* The slot holding key, or the empty slot where it would go. */
static bpe_slot_t *strmap_slot(const bpe_strmap_t *m, const void *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        bpe_slot_t *s = &m->slots[i];
        if (s->hash == 0) return s;
        if (s->hash == h && s->key_len == len && memcmp(m->keys + s->key_off, key, len) == 0)
            return s;
    }
}

static int strmap_init(bpe_strmap_t *m, size_t cap)
{
    memset(m, 0, sizeof(*m));
    m->slots = calloc(cap, sizeof(bpe_slot_t));
    if (!m->slots) return -ENOMEM;
    m->cap = cap;
    return 0;
}

static void strmap_free(bpe_strmap_t *m)
{
    free(m->slots);
    free(m->keys);
    memset(m, 0, sizeof(*m));
}

/* Doubles the table; 0 or -ENOMEM. */
static int strmap_grow(bpe_strmap_t *m)
{
    bpe_strmap_t bigger = *m;
    bigger.cap = m->cap * 2;
    bigger.slots = calloc(bigger.cap, sizeof(bpe_slot_t));
    if (!bigger.slots) return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].hash == 0) continue;
        size_t mask = bigger.cap - 1, j = (size_t)m->slots[i].hash & mask;
        while (bigger.slots[j].hash != 0)
            j = (j + 1) & mask;
        bigger.slots[j] = m->slots[i];
    }
    free(m->slots);
    *m = bigger;
    return 0;
}

/* Inserts a new key (the caller checked it is absent, with hash h) and returns its slot. */
static bpe_slot_t *strmap_add(bpe_strmap_t *m, const void *key, size_t len, uint64_t h)
{
    if ((m->count + 1) * 2 > m->cap && strmap_grow(m) != 0) return NULL;
    if (bpe_reserve((void **)&m->keys, &m->keys_cap, m->keys_len + len, 1) != 0) return NULL;
    bpe_slot_t *s = strmap_slot(m, key, len, h);
    memcpy(m->keys + m->keys_len, key, len);
    s->hash = h;
    s->key_off = (uint32_t)m->keys_len;
    s->key_len = (uint32_t)len;
    m->keys_len += len;
    m->count++;
    return s;
}

static size_t merge_index(uint64_t pair, size_t cap)
{
    return (size_t)((pair * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static uint64_t merge_key(int32_t a, int32_t b)
{
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

/* The merge of ids a and b, or NULL. */
static const bpe_merge_t *bpe_find_merge(const gpt2_bpe_t *bpe, int32_t a, int32_t b)
{
    uint64_t key = merge_key(a, b);
    size_t mask = bpe->merges_cap - 1;
    for (size_t i = merge_index(key, bpe->merges_cap);; i = (i + 1) & mask) {
        const bpe_merge_t *m = &bpe->merges[i];
        if (m->rank < 0) return NULL;
        if (m->pair == key) return m;
    }
}

/* GPT-2's bytes_to_unicode, inverted: code point (< 324) -> byte, or -1. */
static void bpe_unicode_to_byte(int16_t table[324])
{
    for (int i = 0; i < 324; i++)
        table[i] = -1;
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        table[printable ? b : 256 + n++] = (int16_t)b;
    }
}

/* Turns a token in GPT-2's unicode alphabet (UTF-8) into raw bytes: out gets at most len bytes;
 * returns the byte count, or -1 for a character outside the alphabet. */
static int bpe_decode_key(const int16_t table[324], const char *s, size_t len, unsigned char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    int n = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        if (u[i] < 0x80) {
            cp = u[i++];
        } else if ((u[i] & 0xE0) == 0xC0 && i + 1 < len && (u[i + 1] & 0xC0) == 0x80) {
            cp = (unsigned)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1; /* the alphabet is below U+0800: two bytes at most */
        }
        if (cp >= 324 || table[cp] < 0) return -1;
        out[n++] = (unsigned char)table[cp];
    }
    return n;
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static int bpe_slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char *data = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (bpe_reserve((void **)&data, &cap, n + 65537, 1) != 0) {
            rc = -ENOMEM;
            break;
        }
        size_t got = fread(data + n, 1, 65536, f);
        n += got;
        if (got < 65536) {
            if (ferror(f)) rc = -EIO;
            break;
        }
    }
    fclose(f);
    if (rc != 0) {
        free(data);
        gpt2_seterr(err, errlen, "%s: cannot read", path);
        return rc;
    }
    data[n] = '\0';
    *buf = data;
    *len = n;
    return 0;
}

/* Loads encoder.json into bpe->tok_* and, for the merges, a bytes -> id map. */
static int bpe_load_vocab(gpt2_bpe_t *bpe, const char *path, const int16_t table[324],
                          bpe_strmap_t *vocab, char *err, size_t errlen)
{
    json_object *root = json_object_from_file(path);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            int e = errno;
            gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
            return -e;
        }
        fclose(f);
        gpt2_seterr(err, errlen, "%s: not JSON: %s", path, json_util_get_last_err());
        return -EINVAL;
    }
    int rc = 0;
    size_t n =
        json_object_is_type(root, json_type_object) ? (size_t)json_object_object_length(root) : 0;
    if (n == 0 || n > (1u << 24)) {
        gpt2_seterr(err, errlen, "%s: not an object of tokens", path);
        json_object_put(root);
        return -EINVAL;
    }
    uint32_t *lens = calloc(n, sizeof(uint32_t));
    unsigned char **bytes = calloc(n, sizeof(unsigned char *));
    unsigned char *key_bytes = NULL;
    size_t key_cap = 0, total = 0;
    if (!lens || !bytes || strmap_init(vocab, 1u << 17) != 0) rc = -ENOMEM;
    json_object_object_foreach(root, key, val)
    {
        if (rc != 0) break;
        size_t klen = strlen(key);
        int64_t id = json_object_get_int64(val);
        if (!json_object_is_type(val, json_type_int) || id < 0 || id >= (int64_t)n) {
            gpt2_seterr(err, errlen, "%s: token \"%.40s\" has an id that is not in 0..%zu", path,
                        key, n - 1);
            rc = -EINVAL;
            break;
        }
        if (bpe_reserve((void **)&key_bytes, &key_cap, klen + 1, 1) != 0) {
            rc = -ENOMEM;
            break;
        }
        int blen = bpe_decode_key(table, key, klen, key_bytes);
        if (blen <= 0) {
            gpt2_seterr(err, errlen, "%s: token \"%.40s\" is not in GPT-2's byte alphabet", path,
                        key);
            rc = -EINVAL;
            break;
        }
        uint64_t h = bpe_hash(key_bytes, (size_t)blen);
        if (bytes[id] || strmap_slot(vocab, key_bytes, (size_t)blen, h)->hash != 0) {
            gpt2_seterr(err, errlen, "%s: token \"%.40s\" or its id %lld appears twice", path, key,
                        (long long)id);
            rc = -EINVAL;
            break;
        }
        bpe_slot_t *s = strmap_add(vocab, key_bytes, (size_t)blen, h);
        bytes[id] = malloc((size_t)blen);
        if (!s || !bytes[id]) {
            rc = -ENOMEM;
            break;
        }
        s->val_off = (uint32_t)id;
        memcpy(bytes[id], key_bytes, (size_t)blen);
        lens[id] = (uint32_t)blen;
        total += (size_t)blen;
    }
    if (rc == 0) {
        bpe->vocab_size = (int)n;
        bpe->tok_off = malloc((n + 1) * sizeof(uint32_t));
        bpe->tok_bytes = malloc(total);
        if (!bpe->tok_off || !bpe->tok_bytes) rc = -ENOMEM;
    }
    if (rc == 0) {
        uint32_t off = 0;
        for (size_t i = 0; i < n; i++) {
            bpe->tok_off[i] = off;
            memcpy(bpe->tok_bytes + off, bytes[i], lens[i]);
            off += lens[i];
        }
        bpe->tok_off[n] = off;
    }
    if (rc == -ENOMEM) gpt2_seterr(err, errlen, "%s: out of memory", path);
    for (size_t i = 0; bytes && i < n; i++)
        free(bytes[i]);
    free(bytes);
    free(lens);
    free(key_bytes);
    json_object_put(root);
    return rc;
}

/* Loads vocab.bpe into bpe->merges, checking that every merge uses only earlier tokens. */
static int bpe_load_merges(gpt2_bpe_t *bpe, const char *path, const int16_t table[324],
                           const bpe_strmap_t *vocab, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = bpe_slurp(path, &text, &len, err, errlen);
    if (rc != 0) return rc;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    bpe->merges_cap = 16;
    while (bpe->merges_cap < 2 * lines)
        bpe->merges_cap *= 2;
    bpe->merges = malloc(bpe->merges_cap * sizeof(bpe_merge_t));
    int32_t *made_by = malloc((size_t)bpe->vocab_size * sizeof(int32_t)); /* rank, or -1 */
    unsigned char *buf = malloc(len + 1);
    if (!bpe->merges || !made_by || !buf) {
        rc = -ENOMEM;
        gpt2_seterr(err, errlen, "%s: out of memory", path);
        goto out;
    }
    memset(bpe->merges, 0xff, bpe->merges_cap * sizeof(bpe_merge_t));
    for (int i = 0; i < bpe->vocab_size; i++)
        made_by[i] = -1;
    int rank = 0, lineno = 0;
    for (char *line = text, *end; line < text + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end) end = text + len;
        lineno++;
        size_t llen = (size_t)(end - line);
        if (llen > 0 && line[llen - 1] == '\r') llen--;
        if (llen == 0 || (lineno == 1 && strncmp(line, "#version", 8) == 0)) continue;
        char *space = memchr(line, ' ', llen);
        int32_t ids[3];
        int alen = space ? bpe_decode_key(table, line, (size_t)(space - line), buf) : -1;
        size_t rest = space ? llen - (size_t)(space - line) - 1 : 0;
        int blen = alen > 0 ? bpe_decode_key(table, space + 1, rest, buf + alen) : -1;
        /* the parts, then their concatenation, must all be tokens */
        size_t spans[3][2] = {{0, (size_t)alen}, {(size_t)alen, (size_t)blen}, {0, 0}};
        spans[2][1] = (size_t)alen + (size_t)blen;
        for (int k = 0; k < 3 && blen > 0; k++) {
            const unsigned char *p = buf + spans[k][0];
            bpe_slot_t *s = strmap_slot(vocab, p, spans[k][1], bpe_hash(p, spans[k][1]));
            if (s->hash == 0) blen = -1;
            ids[k] = (int32_t)s->val_off;
        }
        if (blen <= 0) {
            gpt2_seterr(err, errlen, "%s:%d: not a merge of two tokens whose join is a token", path,
                        lineno);
            rc = -EINVAL;
            goto out;
        }
        if ((alen > 1 && (made_by[ids[0]] < 0 || made_by[ids[0]] >= rank)) ||
            (blen > 1 && (made_by[ids[1]] < 0 || made_by[ids[1]] >= rank))) {
            gpt2_seterr(err, errlen, "%s:%d: merge uses a token that no earlier merge makes", path,
                        lineno);
            rc = -EINVAL;
            goto out;
        }
        if (made_by[ids[2]] < 0) made_by[ids[2]] = rank;
        uint64_t key = merge_key(ids[0], ids[1]);
        size_t mask = bpe->merges_cap - 1, i = merge_index(key, bpe->merges_cap);
        while (bpe->merges[i].rank >= 0 && bpe->merges[i].pair != key)
            i = (i + 1) & mask;
        /* a repeated pair keeps its last rank, as encoder.py's dict(zip(...)) does */
        bpe->merges[i] = (bpe_merge_t){.pair = key, .rank = rank, .merged = ids[2]};
        rank++;
    }
    bpe->num_merges = rank;
out:
    free(buf);
    free(made_by);
    free(text);
    return rc;
}

static void bpe_init_regex(gpt2_bpe_t *bpe, char *err, size_t errlen, int *rc)
{
    int code;
    PCRE2_SIZE offset;
    bpe->re = pcre2_compile((PCRE2_SPTR)bpe_pattern, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &offset, NULL);
    if (!bpe->re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof(msg));
        gpt2_seterr(err, errlen, "pre-tokenization regex: %s", (const char *)msg);
        *rc = -EINVAL;
        return;
    }
    pcre2_jit_compile(bpe->re, PCRE2_JIT_COMPLETE); /* without JIT it is slower, not wrong */
    bpe->md = pcre2_match_data_create_from_pattern(bpe->re, NULL);
    if (!bpe->md) *rc = -ENOMEM;
}

int gpt2_bpe_load(gpt2_bpe_t **out, const char *encoder_json, const char *vocab_bpe, char *err,
                  size_t errlen)
{
    *out = NULL;
    gpt2_bpe_t *bpe = calloc(1, sizeof(*bpe));
    if (!bpe) return -ENOMEM;
    int16_t table[324];
    bpe_unicode_to_byte(table);
    bpe_strmap_t vocab = {0};
    int rc = bpe_load_vocab(bpe, encoder_json, table, &vocab, err, errlen);
    if (rc == 0) rc = bpe_load_merges(bpe, vocab_bpe, table, &vocab, err, errlen);
    if (rc == 0) {
        for (int b = 0; b < 256; b++) {
            unsigned char c = (unsigned char)b;
            bpe_slot_t *s = strmap_slot(&vocab, &c, 1, bpe_hash(&c, 1));
            if (s->hash == 0) {
                gpt2_seterr(err, errlen, "%s: no token for byte 0x%02x", encoder_json, b);
                rc = -EINVAL;
                break;
            }
            bpe->byte_token[b] = (int32_t)s->val_off;
        }
        static const char eot[] = "<|endoftext|>";
        bpe_slot_t *s = strmap_slot(&vocab, eot, strlen(eot),
                                    bpe_hash((const unsigned char *)eot, strlen(eot)));
        bpe->eot = s->hash ? (int)s->val_off : -1;
    }
    strmap_free(&vocab);
    if (rc == 0) bpe_init_regex(bpe, err, errlen, &rc);
    if (rc == 0 && strmap_init(&bpe->cache, 1u << 12) != 0) rc = -ENOMEM;
    if (rc != 0) {
        if (rc == -ENOMEM) gpt2_seterr(err, errlen, "out of memory");
        gpt2_bpe_free(bpe);
        return rc;
    }
    *out = bpe;
    return 0;
}

int gpt2_bpe_load_dir(gpt2_bpe_t **out, const char *dir, char *err, size_t errlen)
{
    size_t n = strlen(dir) + 16;
    char *enc = malloc(n), *voc = malloc(n);
    int rc = -ENOMEM;
    if (enc && voc) {
        snprintf(enc, n, "%s/encoder.json", dir);
        snprintf(voc, n, "%s/vocab.bpe", dir);
        rc = gpt2_bpe_load(out, enc, voc, err, errlen);
    } else {
        *out = NULL;
    }
    free(enc);
    free(voc);
    return rc;
}

void gpt2_bpe_free(gpt2_bpe_t *bpe)
{
    if (!bpe) return;
    free(bpe->tok_bytes);
    free(bpe->tok_off);
    free(bpe->merges);
    pcre2_match_data_free(bpe->md);
    pcre2_code_free(bpe->re);
    strmap_free(&bpe->cache);
    free(bpe->cache_ids);
    free(bpe->sym);
    free(bpe->next);
    free(bpe->prev);
    free(bpe->heap);
    free(bpe);
}

static bool cand_less(const bpe_cand_t *a, const bpe_cand_t *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

/* Pushes the merge of positions left and right onto the heap if the pair has one. */
static int bpe_heap_push(gpt2_bpe_t *bpe, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return 0;
    const bpe_merge_t *m = bpe_find_merge(bpe, bpe->sym[left], bpe->sym[right]);
    if (!m) return 0;
    if (bpe_reserve((void **)&bpe->heap, &bpe->heap_cap, bpe->heap_len + 1, sizeof(bpe_cand_t)))
        return -ENOMEM;
    bpe_cand_t c = {m->rank, left, right};
    size_t i = bpe->heap_len++;
    while (i > 0 && cand_less(&c, &bpe->heap[(i - 1) / 2])) {
        bpe->heap[i] = bpe->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    bpe->heap[i] = c;
    return 0;
}

static bpe_cand_t bpe_heap_pop(gpt2_bpe_t *bpe)
{
    bpe_cand_t top = bpe->heap[0], last = bpe->heap[--bpe->heap_len];
    size_t i = 0, n = bpe->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(&bpe->heap[c + 1], &bpe->heap[c])) c++;
        if (!cand_less(&bpe->heap[c], &last)) break;
        bpe->heap[i] = bpe->heap[c];
        i = c;
    }
    if (n > 0) bpe->heap[i] = last;
    return top;
}

/* BPE of one piece: leaves the ids in bpe->sym along the next[] list from position 0. */
static int bpe_merge_piece(gpt2_bpe_t *bpe, const unsigned char *p, size_t n)
{
    if (n > bpe->scratch_cap) {
        size_t cap = bpe->scratch_cap, need = n;
        if (bpe_reserve((void **)&bpe->sym, &cap, need, sizeof(int32_t))) return -ENOMEM;
        cap = bpe->scratch_cap;
        if (bpe_reserve((void **)&bpe->next, &cap, need, sizeof(int32_t))) return -ENOMEM;
        cap = bpe->scratch_cap;
        if (bpe_reserve((void **)&bpe->prev, &cap, need, sizeof(int32_t))) return -ENOMEM;
        bpe->scratch_cap = cap;
    }
    int32_t *sym = bpe->sym, *next = bpe->next, *prev = bpe->prev;
    for (size_t i = 0; i < n; i++) {
        sym[i] = bpe->byte_token[p[i]];
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
        prev[i] = (int32_t)i - 1;
    }
    bpe->heap_len = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (bpe_heap_push(bpe, (int32_t)i, (int32_t)i + 1) != 0) return -ENOMEM;
    while (bpe->heap_len > 0) {
        bpe_cand_t c = bpe_heap_pop(bpe);
        /* stale when either side was merged away or changed since the push */
        if (sym[c.left] < 0 || sym[c.right] < 0 || next[c.left] != c.right) continue;
        const bpe_merge_t *m = bpe_find_merge(bpe, sym[c.left], sym[c.right]);
        if (!m || m->rank != c.rank) continue;
        sym[c.left] = m->merged;
        sym[c.right] = -1;
        next[c.left] = next[c.right];
        if (next[c.right] >= 0) prev[next[c.right]] = c.left;
        if (bpe_heap_push(bpe, prev[c.left], c.left) != 0 ||
            bpe_heap_push(bpe, c.left, next[c.left]) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Appends the ids of one piece to out, through the cache. */
static int bpe_encode_piece(gpt2_bpe_t *bpe, const unsigned char *p, size_t n, gpt2_tokens_t *out)
{
    uint64_t h = bpe_hash(p, n);
    bpe_slot_t *s = strmap_slot(&bpe->cache, p, n, h);
    if (s->hash == 0) {
        if (bpe_merge_piece(bpe, p, n) != 0) return -ENOMEM;
        size_t start = bpe->cache_ids_len;
        for (int32_t i = 0; i >= 0; i = bpe->next[i]) {
            if (bpe_reserve((void **)&bpe->cache_ids, &bpe->cache_ids_cap, bpe->cache_ids_len + 1,
                            sizeof(int32_t)))
                return -ENOMEM;
            bpe->cache_ids[bpe->cache_ids_len++] = bpe->sym[i];
        }
        size_t count = bpe->cache_ids_len - start;
        bool keep = bpe->cache.count < BPE_CACHE_MAX_ENTRIES &&
                    bpe->cache.keys_len + n <= BPE_CACHE_MAX_BYTES &&
                    bpe->cache_ids_len <= BPE_CACHE_MAX_BYTES / sizeof(int32_t);
        s = keep ? strmap_add(&bpe->cache, p, n, h) : NULL;
        if (s) {
            s->val_off = (uint32_t)start;
            s->val_len = (uint32_t)count;
        } else {
            bpe->cache_ids_len = start; /* not kept: the ids are only borrowed below */
        }
        if (bpe_reserve((void **)&out->ids, &out->cap, out->len + count, sizeof(int32_t)))
            return -ENOMEM;
        memcpy(out->ids + out->len, bpe->cache_ids + start, count * sizeof(int32_t));
        out->len += count;
        return 0;
    }
    if (bpe_reserve((void **)&out->ids, &out->cap, out->len + s->val_len, sizeof(int32_t)))
        return -ENOMEM;
    memcpy(out->ids + out->len, bpe->cache_ids + s->val_off, s->val_len * sizeof(int32_t));
    out->len += s->val_len;
    return 0;
}

int gpt2_bpe_encode(gpt2_bpe_t *bpe, const char *text, size_t len, gpt2_tokens_t *out)
{
    const unsigned char *t = (const unsigned char *)text;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(bpe->md);
    size_t pos = 0;
    while (pos < len) {
        int rc = pcre2_match(bpe->re, t, len, pos, 0, bpe->md, NULL);
        size_t start = rc > 0 ? ov[0] : len, end = rc > 0 ? ov[1] : len;
        /* bytes the regex skipped are invalid UTF-8: one piece of byte tokens (were the
         * matcher to fail otherwise, the rest would become one piece: still lossless) */
        if (start > pos && bpe_encode_piece(bpe, t + pos, start - pos, out) != 0) return -ENOMEM;
        if (end > start && bpe_encode_piece(bpe, t + start, end - start, out) != 0) return -ENOMEM;
        pos = end > start ? end : (start > pos ? start : len);
    }
    return 0;
}

int gpt2_bpe_vocab_size(const gpt2_bpe_t *bpe)
{
    return bpe->vocab_size;
}

int gpt2_bpe_num_merges(const gpt2_bpe_t *bpe)
{
    return bpe->num_merges;
}

const unsigned char *gpt2_bpe_token_bytes(const gpt2_bpe_t *bpe, int id, size_t *len)
{
    if (id < 0 || id >= bpe->vocab_size) return NULL;
    *len = bpe->tok_off[id + 1] - bpe->tok_off[id];
    return bpe->tok_bytes + bpe->tok_off[id];
}

int gpt2_bpe_eot(const gpt2_bpe_t *bpe)
{
    return bpe->eot;
}

size_t gpt2_bpe_cache_size(const gpt2_bpe_t *bpe)
{
    return bpe->cache.count;
}
