/*
 * gpt2_prepare.c: the `prepare` (text -> llm.c token file) and `init` (random model file)
 * commands of nodus-gpt2.
 *
 * prepare reads each text whole (a corpus for this app is megabytes, not gigabytes), encodes it
 * with one gpt2_bpe encoder and writes the tokens as llm.c's data preparation scripts do: every
 * document starts with <|endoftext|>. The validation split is the tail of the token stream, so
 * the training file is a prefix of what a no-split run writes. Options are parsed here, without
 * getopt, so the commands can run more than once in one process (tests do).
 */
#include "gpt2_prepare.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef GPT2_HAVE_ZLIB
#include <zlib.h>
#endif

#include "gpt2_bpe.h"
#include "gpt2_data.h"
#include "gpt2_tokenizer.h"

#ifndef GPT2_DEFAULT_BPE_DIR
#define GPT2_DEFAULT_BPE_DIR "data/gpt2"
#endif

#define PREPARE_MAX_INPUTS 64

static double prepare_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * If argv[*i] is option `name` ("--name" or "--name=value"), sets *value (NULL when the option
 * has no "=" and takes_value is false; the next argument when it has none and takes_value is
 * true) and returns true. *missing tells that a value was needed but none followed.
 */
static bool prepare_opt(int argc, char **argv, int *i, const char *name, bool takes_value,
                        const char **value, bool *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) return false;
    *missing = false;
    if (a[n] == '=') {
        *value = a + n + 1;
    } else if (!takes_value) {
        *value = NULL;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        *missing = true;
    }
    return true;
}

/* Parses an int in [lo, hi]; false on anything else. */
static bool prepare_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end != '\0' || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

/* Reads a whole input ('-' is stdin) into a malloc'd buffer; gzip'd input is decompressed. */
static int prepare_read_text(const char *path, char **buf, size_t *len)
{
    char *data = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
#ifdef GPT2_HAVE_ZLIB
    gzFile f = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rb");
    if (!f) return errno ? -errno : -ENOMEM;
    for (;;) {
        if (n + 65536 > cap) {
            size_t c = cap ? cap * 2 : 1 << 20;
            char *p = realloc(data, c);
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            data = p;
            cap = c;
        }
        int got = gzread(f, data + n, 65536);
        if (got < 0) {
            rc = -EIO;
            break;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    gzclose(f);
#else
    size_t plen = strlen(path);
    if (plen > 3 && strcmp(path + plen - 3, ".gz") == 0) return -ENOTSUP;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return -errno;
    for (;;) {
        if (n + 65536 > cap) {
            size_t c = cap ? cap * 2 : 1 << 20;
            char *p = realloc(data, c);
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            data = p;
            cap = c;
        }
        size_t got = fread(data + n, 1, 65536, f);
        n += got;
        if (got < 65536) {
            if (ferror(f)) rc = -EIO;
            break;
        }
    }
    if (f != stdin) fclose(f);
#endif
    if (rc != 0) {
        free(data);
        return rc;
    }
    *buf = data;
    *len = n;
    return 0;
}

/* OUT.bin -> OUT_val.bin (or OUT.val without a .bin suffix); caller frees. */
static char *prepare_val_path(const char *out)
{
    size_t n = strlen(out);
    char *p = malloc(n + 8);
    if (!p) return NULL;
    if (n > 4 && strcmp(out + n - 4, ".bin") == 0)
        snprintf(p, n + 8, "%.*s_val.bin", (int)(n - 4), out);
    else
        snprintf(p, n + 8, "%s.val", out);
    return p;
}

/* dirname(out)/gpt2_tokenizer.bin; caller frees. */
static char *prepare_tokenizer_path(const char *out)
{
    const char *slash = strrchr(out, '/');
    int dir = slash ? (int)(slash - out) + 1 : 0;
    size_t n = (size_t)dir + 32;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%.*sgpt2_tokenizer.bin", dir, out);
    return p;
}

static void prepare_usage(FILE *f)
{
    fprintf(f,
            "usage: nodus-gpt2 prepare [--bpe-dir DIR] [--val-fraction F] [--val-out PATH]\n"
            "                          [--tokenizer[=PATH]] [--quiet] [TEXT...] OUT.bin\n"
            "  TEXT: a text file, '-' for stdin, .gz accepted (default " GPT2_DEFAULT_CORPUS ")\n");
}

int gpt2_prepare_main(int argc, char **argv)
{
    const char *bpe_dir = getenv("NODUS_GPT2_DATA");
    const char *val_out = NULL, *tokenizer_out = NULL, *inputs[PREPARE_MAX_INPUTS + 1];
    bool want_tokenizer = false, quiet = false, options_done = false;
    double val_fraction = 0.0;
    int ninputs = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *a = argv[i];
        bool missing = false;
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (ninputs == PREPARE_MAX_INPUTS + 1) {
                fprintf(stderr, "prepare: at most %d texts\n", PREPARE_MAX_INPUTS);
                return 2;
            }
            inputs[ninputs++] = a;
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            prepare_usage(stdout);
            return 0;
        } else if (prepare_opt(argc, argv, &i, "--bpe-dir", true, &v, &missing)) {
            bpe_dir = v;
        } else if (prepare_opt(argc, argv, &i, "--val-out", true, &v, &missing)) {
            val_out = v;
        } else if (prepare_opt(argc, argv, &i, "--val-fraction", true, &v, &missing)) {
            char *end;
            val_fraction = v ? strtod(v, &end) : -1.0;
            if (!missing && (!v || *end != '\0' || !(val_fraction >= 0.0 && val_fraction < 1.0))) {
                fprintf(stderr, "prepare: --val-fraction must be in [0, 1)\n");
                return 2;
            }
        } else if (prepare_opt(argc, argv, &i, "--tokenizer", false, &v, &missing)) {
            want_tokenizer = true;
            tokenizer_out = v;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else {
            fprintf(stderr, "prepare: unknown option %s\n", a);
            prepare_usage(stderr);
            return 2;
        }
        if (missing) {
            fprintf(stderr, "prepare: %s needs a value\n", a);
            return 2;
        }
    }
    if (ninputs == 0) {
        prepare_usage(stderr);
        return 2;
    }
    const char *out = inputs[--ninputs];
    if (ninputs == 0) inputs[ninputs++] = GPT2_DEFAULT_CORPUS;
    if (!bpe_dir) bpe_dir = GPT2_DEFAULT_BPE_DIR;

    int status = 1;
    char err[512] = "";
    char *text = NULL, *val_path = NULL, *tok_path = NULL;
    gpt2_tokens_t tokens = {0};
    size_t total_bytes = 0;
    double encode_s = 0.0, t0 = prepare_now();
    gpt2_bpe_t *bpe = NULL;
    int rc = gpt2_bpe_load_dir(&bpe, bpe_dir, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr,
                "prepare: %s\n(scripts/fetch-gpt2-tokenizer.sh fetches encoder.json and "
                "vocab.bpe; --bpe-dir or $NODUS_GPT2_DATA says where they are)\n",
                err);
        goto out;
    }
    double load_s = prepare_now() - t0;
    for (int k = 0; k < ninputs; k++) {
        size_t len;
        rc = prepare_read_text(inputs[k], &text, &len);
        if (rc != 0) {
            fprintf(stderr, "prepare: %s: %s%s\n", inputs[k], strerror(-rc),
                    rc == -ENOTSUP ? " (built without zlib: pipe it through zcat into '-')" : "");
            goto out;
        }
        double t1 = prepare_now();
        rc = gpt2_tokens_push(&tokens, GPT2_BPE_EOT);
        if (rc == 0) rc = gpt2_bpe_encode(bpe, text, len, &tokens);
        encode_s += prepare_now() - t1;
        free(text);
        text = NULL;
        total_bytes += len;
        if (rc != 0) {
            fprintf(stderr, "prepare: %s: %s\n", inputs[k], strerror(-rc));
            goto out;
        }
    }
    size_t n_val = (size_t)floor((double)tokens.len * val_fraction);
    size_t n_train = tokens.len - n_val;
    rc = gpt2_data_write(out, tokens.ids, n_train);
    if (rc != 0) {
        fprintf(stderr, "prepare: %s: %s\n", out, strerror(-rc));
        goto out;
    }
    if (n_val > 0) {
        val_path = val_out ? strdup(val_out) : prepare_val_path(out);
        rc = val_path ? gpt2_data_write(val_path, tokens.ids + n_train, n_val) : -ENOMEM;
        if (rc != 0) {
            fprintf(stderr, "prepare: %s: %s\n", val_path ? val_path : out, strerror(-rc));
            goto out;
        }
    }
    if (want_tokenizer) {
        tok_path = tokenizer_out ? strdup(tokenizer_out) : prepare_tokenizer_path(out);
        rc = tok_path ? gpt2_tokenizer_write(tok_path, bpe) : -ENOMEM;
        if (rc != 0) {
            fprintf(stderr, "prepare: %s: %s\n", tok_path ? tok_path : out, strerror(-rc));
            goto out;
        }
    }
    if (!quiet) {
        printf("prepare: %zu bytes -> %zu tokens in %.3f s (%.0f tokens/s, %.2f MB/s; "
               "vocabulary loaded in %.3f s, %zu distinct pieces)\n",
               total_bytes, tokens.len, encode_s,
               encode_s > 0 ? (double)tokens.len / encode_s : 0.0,
               encode_s > 0 ? (double)total_bytes / encode_s / 1e6 : 0.0, load_s,
               gpt2_bpe_cache_size(bpe));
        printf("prepare: wrote %s (%zu tokens)", out, n_train);
        if (n_val > 0) printf(", %s (%zu tokens)", val_path, n_val);
        if (tok_path) printf(", %s", tok_path);
        printf("\n");
    }
    status = 0;
out:
    free(text);
    free(val_path);
    free(tok_path);
    gpt2_tokens_free(&tokens);
    gpt2_bpe_free(bpe);
    return status;
}

gpt2_config_t gpt2_init_config(int layers, int heads, int channels, int max_seq, int vocab)
{
    gpt2_config_t cfg = {
        .max_seq_len = max_seq,
        .vocab_size = vocab,
        .padded_vocab_size = vocab > 0 ? (vocab + 127) / 128 * 128 : vocab,
        .num_layers = layers,
        .num_heads = heads,
        .channels = channels,
    };
    return cfg;
}

static void init_usage(FILE *f)
{
    fprintf(f, "usage: nodus-gpt2 init [--out PATH] [--layers L] [--heads NH] [--channels C]\n"
               "                       [--max-seq T] [--vocab V] [--seed S]\n"
               "  defaults: GPT-2 124M (L=12 NH=12 C=768 T=1024 V=50257), gpt2_init.bin, "
               "seed 1337\n");
}

int gpt2_init_main(int argc, char **argv)
{
    const char *out = "gpt2_init.bin";
    int layers = 12, heads = 12, channels = 768, max_seq = 1024, vocab = 50257;
    unsigned long long seed = 1337;
    static const char *names[] = {"--layers", "--heads", "--channels", "--max-seq", "--vocab"};
    int *values[] = {&layers, &heads, &channels, &max_seq, &vocab};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *a = argv[i];
        bool missing = false, known = false;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            init_usage(stdout);
            return 0;
        }
        if (prepare_opt(argc, argv, &i, "--out", true, &v, &missing)) {
            known = true;
            out = v;
        } else if (prepare_opt(argc, argv, &i, "--seed", true, &v, &missing)) {
            char *end;
            known = true;
            errno = 0;
            seed = v ? strtoull(v, &end, 10) : 0;
            if (!missing && (!v || errno || end == v || *end != '\0')) {
                fprintf(stderr, "init: --seed needs an unsigned integer\n");
                return 2;
            }
        }
        for (int k = 0; !known && k < 5; k++) {
            if (!prepare_opt(argc, argv, &i, names[k], true, &v, &missing)) continue;
            known = true;
            if (!missing && !prepare_int(v, 1, 1 << 24, values[k])) {
                fprintf(stderr, "init: %s needs a positive integer\n", names[k]);
                return 2;
            }
        }
        if (!known) {
            fprintf(stderr, "init: unknown argument %s\n", a);
            init_usage(stderr);
            return 2;
        }
        if (missing) {
            fprintf(stderr, "init: %s needs a value\n", a);
            return 2;
        }
    }
    gpt2_config_t cfg = gpt2_init_config(layers, heads, channels, max_seq, vocab);
    if (gpt2_config_check(&cfg) != 0) {
        fprintf(stderr, "init: bad shape: L=%d NH=%d C=%d T=%d V=%d (C must be a multiple of NH)\n",
                layers, heads, channels, max_seq, vocab);
        return 2;
    }
    size_t n = gpt2_num_params(&cfg);
    float *params = malloc(n * sizeof(float));
    if (!params) {
        fprintf(stderr, "init: cannot allocate %zu parameters (%.1f MB)\n", n, n * 4.0 / 1e6);
        return 1;
    }
    gpt2_model_init(&cfg, params, seed);
    int rc = gpt2_model_write(out, &cfg, params);
    free(params);
    if (rc != 0) {
        fprintf(stderr, "init: %s: %s\n", out, strerror(-rc));
        return 1;
    }
    printf("init: wrote %s: L=%d NH=%d C=%d maxT=%d V=%d Vp=%d, %zu parameters (%.1f MB), "
           "seed %llu\n",
           out, cfg.num_layers, cfg.num_heads, cfg.channels, cfg.max_seq_len, cfg.vocab_size,
           cfg.padded_vocab_size, n, n * 4.0 / 1e6, seed);
    return 0;
}
