/*
 * gpt2_data.c: llm.c's token files (write, read) and the B x T batch loader over a mapped file.
 *
 * Files are checked completely before use: magic, version, and a size that is exactly the header
 * plus the header's token count, so a truncated or foreign file is an error, not garbage
 * batches. The loader maps the file instead of reading it, so a multi-gigabyte corpus costs no
 * memory beyond the page cache, and a shuffled epoch costs one permutation of sequence indices.
 */
#include "gpt2_data.h"
#include "gpt2_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llm.c's files are little-endian; this code reads them as native integers"
#endif

#define DATA_HEADER_INTS  256
#define DATA_HEADER_BYTES (DATA_HEADER_INTS * sizeof(int32_t))

struct gpt2_loader {
    int B, T;
    bool shuffle;
    uint64_t seed;
    void *map;              /* the whole file, read-only */
    size_t map_len;         /* bytes mapped */
    const uint16_t *tokens; /* into map, after the header */
    size_t num_tokens;
    size_t num_sequences; /* (num_tokens - 1) / T */
    size_t num_batches;   /* num_sequences / B */
    size_t *order;        /* shuffled sequence indices of the current epoch, or NULL */
    size_t position;      /* next batch in the epoch */
    uint64_t epoch;
    int max_token;
};

/* Checks a header against the file size; on success *n is the token count. */
static int data_check_header(const char *path, const int32_t *header, uint64_t file_size, size_t *n,
                             char *err, size_t errlen)
{
    if (header[0] != GPT2_DATA_MAGIC) {
        gpt2_seterr(err, errlen, "%s: bad magic %d (an llm.c token file has %d)", path, header[0],
                    GPT2_DATA_MAGIC);
        return -EINVAL;
    }
    if (header[1] != GPT2_DATA_VERSION) {
        gpt2_seterr(err, errlen, "%s: version %d is not supported (only %d, uint16 tokens)", path,
                    header[1], GPT2_DATA_VERSION);
        return -EINVAL;
    }
    if (header[2] < 0) {
        gpt2_seterr(err, errlen, "%s: negative token count %d", path, header[2]);
        return -EINVAL;
    }
    uint64_t want = DATA_HEADER_BYTES + (uint64_t)header[2] * sizeof(uint16_t);
    if (file_size < want) {
        gpt2_seterr(err, errlen, "%s: truncated: %llu bytes, %d tokens need %llu", path,
                    (unsigned long long)file_size, header[2], (unsigned long long)want);
        return -EIO;
    }
    if (file_size > want) {
        gpt2_seterr(err, errlen, "%s: %llu bytes, more than %d tokens (%llu)", path,
                    (unsigned long long)file_size, header[2], (unsigned long long)want);
        return -EINVAL;
    }
    *n = (size_t)header[2];
    return 0;
}

int gpt2_data_write(const char *path, const int32_t *tokens, size_t n)
{
    if (!path || (!tokens && n > 0)) return -EINVAL;
    if (n > INT32_MAX) return -ERANGE;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] > UINT16_MAX) return -ERANGE;

    int32_t header[DATA_HEADER_INTS] = {0};
    header[0] = GPT2_DATA_MAGIC;
    header[1] = GPT2_DATA_VERSION;
    header[2] = (int32_t)n;
    gpt2_replace_t out;
    int rc = gpt2_replace_open(&out, path);
    if (rc != 0) return rc;
    if (fwrite(header, sizeof(int32_t), DATA_HEADER_INTS, out.f) != DATA_HEADER_INTS)
        rc = gpt2_write_error();
    uint16_t chunk[4096];
    for (size_t i = 0; rc == 0 && i < n;) {
        size_t m = n - i < 4096 ? n - i : 4096;
        for (size_t j = 0; j < m; j++)
            chunk[j] = (uint16_t)tokens[i + j];
        if (fwrite(chunk, sizeof(uint16_t), m, out.f) != m) rc = gpt2_write_error();
        i += m;
    }
    return gpt2_replace_commit(&out, rc);
}

int gpt2_data_read(const char *path, uint16_t **tokens, size_t *n, char *err, size_t errlen)
{
    *tokens = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    int rc;
    int32_t header[DATA_HEADER_INTS];
    struct stat st;
    size_t count = 0;
    uint16_t *data = NULL;
    if (fread(header, sizeof(int32_t), DATA_HEADER_INTS, f) != DATA_HEADER_INTS) {
        gpt2_seterr(err, errlen, "%s: shorter than the 1024-byte header", path);
        rc = -EIO;
        goto out;
    }
    if (fstat(fileno(f), &st) != 0) {
        rc = -errno;
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    rc = data_check_header(path, header, (uint64_t)st.st_size, &count, err, errlen);
    if (rc != 0) goto out;
    data = malloc(count ? count * sizeof(uint16_t) : 1);
    if (!data) {
        rc = -ENOMEM;
        gpt2_seterr(err, errlen, "%s: cannot allocate %zu tokens", path, count);
        goto out;
    }
    if (fread(data, sizeof(uint16_t), count, f) != count) {
        rc = -EIO;
        gpt2_seterr(err, errlen, "%s: short read", path);
        goto out;
    }
    *tokens = data;
    *n = count;
    data = NULL;
out:
    free(data);
    fclose(f);
    return rc;
}

/* Draws the epoch's permutation of all sequences (Fisher-Yates). */
static void data_shuffle(gpt2_loader_t *ld)
{
    uint64_t state = ld->seed ^ (ld->epoch * 0xD1B54A32D192ED03ull);
    for (size_t i = 0; i < ld->num_sequences; i++)
        ld->order[i] = i;
    for (size_t i = ld->num_sequences - 1; i > 0; i--) {
        size_t j = (size_t)(gpt2_splitmix64(&state) % (uint64_t)(i + 1));
        size_t t = ld->order[i];
        ld->order[i] = ld->order[j];
        ld->order[j] = t;
    }
}

int gpt2_loader_open(gpt2_loader_t **out, const char *path, int B, int T, bool shuffle,
                     uint64_t seed, char *err, size_t errlen)
{
    *out = NULL;
    if (B <= 0 || T <= 0) {
        gpt2_seterr(err, errlen, "batch shape %d x %d must be positive", B, T);
        return -EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < DATA_HEADER_BYTES) {
        close(fd);
        gpt2_seterr(err, errlen, "%s: not a token file (shorter than the header)", path);
        return -EIO;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        gpt2_seterr(err, errlen, "%s: mmap: %s", path, strerror(e));
        return -e;
    }
    size_t n = 0;
    int rc = data_check_header(path, map, (uint64_t)st.st_size, &n, err, errlen);
    if (rc == 0 && (n < 1 || (n - 1) / (size_t)T / (size_t)B == 0)) {
        gpt2_seterr(err, errlen, "%s: %zu tokens, fewer than one %d x %d batch needs (%zu)", path,
                    n, B, T, (size_t)B * (size_t)T + 1);
        rc = -EINVAL;
    }
    gpt2_loader_t *ld = NULL;
    if (rc == 0 && !(ld = calloc(1, sizeof(*ld)))) rc = -ENOMEM;
    if (rc != 0) {
        munmap(map, (size_t)st.st_size);
        return rc;
    }
    ld->B = B;
    ld->T = T;
    ld->shuffle = shuffle;
    ld->seed = seed;
    ld->map = map;
    ld->map_len = (size_t)st.st_size;
    ld->tokens = (const uint16_t *)((const char *)map + DATA_HEADER_BYTES);
    ld->num_tokens = n;
    ld->num_sequences = (n - 1) / (size_t)T;
    ld->num_batches = ld->num_sequences / (size_t)B;
    for (size_t i = 0; i < n; i++)
        if (ld->tokens[i] > ld->max_token) ld->max_token = ld->tokens[i];
    if (shuffle) {
        ld->order = malloc(ld->num_sequences * sizeof(size_t));
        if (!ld->order) {
            gpt2_loader_close(ld);
            gpt2_seterr(err, errlen, "%s: cannot allocate the shuffle order", path);
            return -ENOMEM;
        }
        data_shuffle(ld);
    }
    *out = ld;
    return 0;
}

void gpt2_loader_close(gpt2_loader_t *ld)
{
    if (!ld) return;
    munmap(ld->map, ld->map_len);
    free(ld->order);
    free(ld);
}

int gpt2_loader_next(gpt2_loader_t *ld, int *inputs, int *targets)
{
    if (ld->position == ld->num_batches) {
        ld->position = 0;
        ld->epoch++;
        if (ld->shuffle) data_shuffle(ld);
    }
    size_t T = (size_t)ld->T;
    for (size_t b = 0; b < (size_t)ld->B; b++) {
        size_t seq = ld->position * (size_t)ld->B + b;
        if (ld->shuffle) seq = ld->order[seq];
        const uint16_t *src = ld->tokens + seq * T;
        int *in = inputs + b * T, *tg = targets + b * T;
        for (size_t t = 0; t < T; t++) {
            in[t] = src[t];
            tg[t] = src[t + 1];
        }
    }
    ld->position++;
    return 0;
}

void gpt2_loader_reset(gpt2_loader_t *ld)
{
    bool reshuffle = ld->shuffle && ld->epoch != 0;
    ld->position = 0;
    ld->epoch = 0;
    if (reshuffle) data_shuffle(ld);
}

size_t gpt2_loader_num_batches(const gpt2_loader_t *ld)
{
    return ld->num_batches;
}

size_t gpt2_loader_position(const gpt2_loader_t *ld)
{
    return ld->position == ld->num_batches ? 0 : ld->position;
}

uint64_t gpt2_loader_epoch(const gpt2_loader_t *ld)
{
    return ld->position == ld->num_batches ? ld->epoch + 1 : ld->epoch;
}

size_t gpt2_loader_num_tokens(const gpt2_loader_t *ld)
{
    return ld->num_tokens;
}

int gpt2_loader_max_token(const gpt2_loader_t *ld)
{
    return ld->max_token;
}
