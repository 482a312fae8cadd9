/*
 * gpt2_model.c: GPT-2's parameter layout and llm.c's model file (read, write, initialise).
 *
 * The file is exactly llm.c's (train_gpt2.c, version 3 = fp32): a 256-int32 little-endian header
 * and the 16 parameter tensors back to back, so a gpt2_124M.bin written by llm.c's
 * train_gpt2.py loads here unchanged and a checkpoint written here loads in llm.c. A file whose
 * size does not match its header is refused rather than half-read. Writes go to a temporary
 * file that is renamed over the target, so a crash never leaves a torn checkpoint.
 */
#include "gpt2_model.h"
#include "gpt2_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llm.c's files are little-endian; this code reads them as native integers"
#endif

#define GPT2_HEADER_INTS 256

/* Upper bounds that keep every size computation far from overflow. */
#define GPT2_MAX_DIM    (1 << 24)
#define GPT2_MAX_LAYERS 1024
#define GPT2_MAX_PARAMS ((size_t)1 << 40)

void gpt2_param_sizes(const gpt2_config_t *cfg, size_t sizes[GPT2_NUM_PARAM_TENSORS])
{
    size_t maxT = (size_t)cfg->max_seq_len, Vp = (size_t)cfg->padded_vocab_size;
    size_t L = (size_t)cfg->num_layers, C = (size_t)cfg->channels;
    sizes[GPT2_WTE] = Vp * C;
    sizes[GPT2_WPE] = maxT * C;
    sizes[GPT2_LN1W] = L * C;
    sizes[GPT2_LN1B] = L * C;
    sizes[GPT2_QKVW] = L * (3 * C) * C;
    sizes[GPT2_QKVB] = L * (3 * C);
    sizes[GPT2_ATTPROJW] = L * C * C;
    sizes[GPT2_ATTPROJB] = L * C;
    sizes[GPT2_LN2W] = L * C;
    sizes[GPT2_LN2B] = L * C;
    sizes[GPT2_FCW] = L * (4 * C) * C;
    sizes[GPT2_FCB] = L * (4 * C);
    sizes[GPT2_FCPROJW] = L * C * (4 * C);
    sizes[GPT2_FCPROJB] = L * C;
    sizes[GPT2_LNFW] = C;
    sizes[GPT2_LNFB] = C;
}

size_t gpt2_num_params(const gpt2_config_t *cfg)
{
    size_t sizes[GPT2_NUM_PARAM_TENSORS];
    gpt2_param_sizes(cfg, sizes);
    size_t total = 0;
    for (int i = 0; i < GPT2_NUM_PARAM_TENSORS; i++)
        total += sizes[i];
    return total;
}

/* Like gpt2_config_check, with the reason written to err. */
static int model_config_check(const gpt2_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->max_seq_len <= 0 || cfg->vocab_size <= 0 || cfg->padded_vocab_size <= 0 ||
        cfg->num_layers <= 0 || cfg->num_heads <= 0 || cfg->channels <= 0) {
        gpt2_seterr(err, errlen, "every dimension must be positive");
        return -EINVAL;
    }
    if (cfg->max_seq_len > GPT2_MAX_DIM || cfg->padded_vocab_size > GPT2_MAX_DIM ||
        cfg->channels > GPT2_MAX_DIM / 4 || cfg->num_layers > GPT2_MAX_LAYERS) {
        gpt2_seterr(err, errlen, "a dimension is implausibly large");
        return -EINVAL;
    }
    if (cfg->vocab_size > cfg->padded_vocab_size) {
        gpt2_seterr(err, errlen, "vocab_size %d exceeds padded_vocab_size %d", cfg->vocab_size,
                    cfg->padded_vocab_size);
        return -EINVAL;
    }
    if (cfg->channels % cfg->num_heads != 0) {
        gpt2_seterr(err, errlen, "channels %d is not a multiple of num_heads %d", cfg->channels,
                    cfg->num_heads);
        return -EINVAL;
    }
    /* every factor is < 2^24 and L < 2^10, so no single tensor size overflows 64 bits */
    if (gpt2_num_params(cfg) > GPT2_MAX_PARAMS) {
        gpt2_seterr(err, errlen, "the model has more than 2^40 parameters");
        return -EINVAL;
    }
    return 0;
}

int gpt2_config_check(const gpt2_config_t *cfg)
{
    return model_config_check(cfg, NULL, 0);
}

int gpt2_model_read(const char *path, gpt2_config_t *cfg, float **params, char *err, size_t errlen)
{
    if (params) *params = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        gpt2_seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    int rc = 0;
    int32_t header[GPT2_HEADER_INTS];
    float *data = NULL;
    if (fread(header, sizeof(int32_t), GPT2_HEADER_INTS, f) != GPT2_HEADER_INTS) {
        gpt2_seterr(err, errlen, "%s: shorter than the 1024-byte header", path);
        rc = -EIO;
        goto out;
    }
    if (header[0] != GPT2_MODEL_MAGIC) {
        gpt2_seterr(err, errlen, "%s: bad magic %d (an llm.c model file has %d)", path, header[0],
                    GPT2_MODEL_MAGIC);
        rc = -EINVAL;
        goto out;
    }
    if (header[1] != GPT2_MODEL_VERSION_FP32) {
        gpt2_seterr(err, errlen, "%s: version %d is not supported (only %d, fp32%s)", path,
                    header[1], GPT2_MODEL_VERSION_FP32,
                    header[1] == 5 ? "; version 5 is llm.c's bf16" : "");
        rc = -EINVAL;
        goto out;
    }
    gpt2_config_t c = {
        .max_seq_len = header[2],
        .vocab_size = header[3],
        .num_layers = header[4],
        .num_heads = header[5],
        .channels = header[6],
        .padded_vocab_size = header[7],
    };
    char why[160];
    if (model_config_check(&c, why, sizeof(why)) != 0) {
        gpt2_seterr(err, errlen, "%s: bad shape in header: %s", path, why);
        rc = -EINVAL;
        goto out;
    }
    size_t n = gpt2_num_params(&c);
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        uint64_t want = (uint64_t)GPT2_HEADER_INTS * sizeof(int32_t) + (uint64_t)n * sizeof(float);
        if ((uint64_t)st.st_size < want) {
            gpt2_seterr(err, errlen, "%s: truncated: %lld bytes, the header's shape needs %llu",
                        path, (long long)st.st_size, (unsigned long long)want);
            rc = -EIO;
            goto out;
        }
        if ((uint64_t)st.st_size > want) {
            gpt2_seterr(err, errlen, "%s: %lld bytes, more than the header's shape (%llu)", path,
                        (long long)st.st_size, (unsigned long long)want);
            rc = -EINVAL;
            goto out;
        }
    }
    if (params) {
        data = malloc(n * sizeof(float));
        if (!data) {
            gpt2_seterr(err, errlen, "%s: cannot allocate %zu parameters", path, n);
            rc = -ENOMEM;
            goto out;
        }
        if (fread(data, sizeof(float), n, f) != n) {
            gpt2_seterr(err, errlen, "%s: truncated parameter data", path);
            rc = -EIO;
            goto out;
        }
        *params = data;
        data = NULL;
    }
    *cfg = c;
out:
    free(data);
    fclose(f);
    return rc;
}

int gpt2_model_write(const char *path, const gpt2_config_t *cfg, const float *params)
{
    if (!path || !cfg || !params || gpt2_config_check(cfg) != 0) return -EINVAL;
    int32_t header[GPT2_HEADER_INTS] = {0};
    header[0] = GPT2_MODEL_MAGIC;
    header[1] = GPT2_MODEL_VERSION_FP32;
    header[2] = cfg->max_seq_len;
    header[3] = cfg->vocab_size;
    header[4] = cfg->num_layers;
    header[5] = cfg->num_heads;
    header[6] = cfg->channels;
    header[7] = cfg->padded_vocab_size;

    gpt2_replace_t out;
    int rc = gpt2_replace_open(&out, path);
    if (rc != 0) return rc;
    size_t n = gpt2_num_params(cfg);
    if (fwrite(header, sizeof(int32_t), GPT2_HEADER_INTS, out.f) != GPT2_HEADER_INTS ||
        fwrite(params, sizeof(float), n, out.f) != n)
        rc = gpt2_write_error();
    return gpt2_replace_commit(&out, rc);
}

/* Fills x[n] with N(0, std) by Box-Muller, two normals per pair of uniforms. */
static void model_fill_normal(float *x, size_t n, float std, uint64_t *state)
{
    const double two_pi = 6.283185307179586;
    for (size_t i = 0; i < n; i += 2) {
        /* u1 in (0, 1], u2 in [0, 1): 53-bit uniforms */
        double u1 = ((gpt2_splitmix64(state) >> 11) + 1) * 0x1.0p-53;
        double u2 = (gpt2_splitmix64(state) >> 11) * 0x1.0p-53;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(std * r * cos(two_pi * u2));
        if (i + 1 < n) x[i + 1] = (float)(std * r * sin(two_pi * u2));
    }
}

static void model_fill(float *x, size_t n, float value)
{
    for (size_t i = 0; i < n; i++)
        x[i] = value;
}

void gpt2_model_init(const gpt2_config_t *cfg, float *params, uint64_t seed)
{
    size_t sizes[GPT2_NUM_PARAM_TENSORS];
    gpt2_param_sizes(cfg, sizes);
    const float std = 0.02f;
    const float residual_std = 0.02f / sqrtf(2.0f * (float)cfg->num_layers);
    float *p = params;
    for (int t = 0; t < GPT2_NUM_PARAM_TENSORS; t++) {
        /* each tensor draws from its own stream, so one tensor's values do not depend on the
         * sizes of the tensors before it */
        uint64_t state = seed * 0x100000001B3ull + (uint64_t)t * 0x9E3779B97F4A7C15ull;
        switch (t) {
        case GPT2_WTE: {
            size_t real = (size_t)cfg->vocab_size * (size_t)cfg->channels;
            model_fill_normal(p, real, std, &state);
            model_fill(p + real, sizes[t] - real, 0.0f);
            break;
        }
        case GPT2_WPE:
        case GPT2_QKVW:
        case GPT2_FCW:
            model_fill_normal(p, sizes[t], std, &state);
            break;
        case GPT2_ATTPROJW:
        case GPT2_FCPROJW:
            model_fill_normal(p, sizes[t], residual_std, &state);
            break;
        case GPT2_LN1W:
        case GPT2_LN2W:
        case GPT2_LNFW:
            model_fill(p, sizes[t], 1.0f);
            break;
        default: /* the biases */
            model_fill(p, sizes[t], 0.0f);
            break;
        }
        p += sizes[t];
    }
}
