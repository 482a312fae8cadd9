/*
 * test_gpt2_model.c: GPT-2's parameter layout, llm.c's model file (round trip, a header written
 * by hand at llm.c's offsets, refused files) and the initialisation, plus the init command.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpt2_test_tmp.h"

#include "gpt2_model.h"
#include "gpt2_prepare.h"

static gpt2_config_t small_config(void)
{
    return (gpt2_config_t){.max_seq_len = 16,
                           .vocab_size = 50,
                           .padded_vocab_size = 64,
                           .num_layers = 2,
                           .num_heads = 2,
                           .channels = 8};
}

/* Writes raw bytes to a file. */
static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_param_sizes(void **state)
{
    gpt2_config_t c = small_config();
    size_t s[GPT2_NUM_PARAM_TENSORS];
    gpt2_param_sizes(&c, s);
    size_t want[GPT2_NUM_PARAM_TENSORS] = {64 * 8,     16 * 8, 2 * 8, 2 * 8, 2 * 24 * 8, 2 * 24,
                                           2 * 8 * 8,  2 * 8,  2 * 8, 2 * 8, 2 * 32 * 8, 2 * 32,
                                           2 * 8 * 32, 2 * 8,  8,     8};
    size_t total = 0;
    for (int i = 0; i < GPT2_NUM_PARAM_TENSORS; i++) {
        assert_int_equal(s[i], want[i]);
        total += want[i];
    }
    assert_int_equal(gpt2_num_params(&c), total);

    /* GPT-2 124M with llm.c's padded vocabulary: llm.c prints num_parameters: 124475904 */
    gpt2_config_t g = gpt2_init_config(12, 12, 768, 1024, 50257);
    assert_int_equal(g.padded_vocab_size, 50304);
    assert_int_equal(gpt2_config_check(&g), 0);
    assert_int_equal(gpt2_num_params(&g), 124475904);
}

static void test_config_check(void **state)
{
    gpt2_config_t c = small_config();
    assert_int_equal(gpt2_config_check(&c), 0);
    c.channels = 9; /* not a multiple of NH */
    assert_int_equal(gpt2_config_check(&c), -EINVAL);
    c = small_config();
    c.vocab_size = 65; /* above Vp */
    assert_int_equal(gpt2_config_check(&c), -EINVAL);
    c = small_config();
    c.num_layers = 0;
    assert_int_equal(gpt2_config_check(&c), -EINVAL);
    c = small_config();
    c.max_seq_len = -3;
    assert_int_equal(gpt2_config_check(&c), -EINVAL);
    c = small_config();
    c.channels = 1 << 30;
    c.num_heads = 1;
    assert_int_equal(gpt2_config_check(&c), -EINVAL);
}

static void test_round_trip(void **state)
{
    gpt2_config_t c = small_config();
    size_t n = gpt2_num_params(&c);
    float *p = malloc(n * sizeof(float));
    assert_non_null(p);
    gpt2_model_init(&c, p, 42);
    char path[300];
    path_in_tmp(path, sizeof(path), "small.bin");
    assert_int_equal(gpt2_model_write(path, &c, p), 0);

    gpt2_config_t r;
    float *q = NULL;
    char err[256];
    assert_int_equal(gpt2_model_read(path, &r, &q, err, sizeof(err)), 0);
    assert_memory_equal(&r, &c, sizeof(c));
    assert_memory_equal(q, p, n * sizeof(float)); /* bit-exact */
    free(q);

    /* header only */
    memset(&r, 0, sizeof(r));
    assert_int_equal(gpt2_model_read(path, &r, NULL, err, sizeof(err)), 0);
    assert_memory_equal(&r, &c, sizeof(c));

    /* the file is exactly header + params, header at llm.c's offsets */
    FILE *f = fopen(path, "rb");
    int32_t h[256];
    assert_int_equal(fread(h, sizeof(int32_t), 256, f), 256);
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), 1024 + (long)(n * sizeof(float)));
    fclose(f);
    int32_t want[8] = {20240326, 3, 16, 50, 2, 2, 8, 64};
    assert_memory_equal(h, want, sizeof(want));
    for (int i = 8; i < 256; i++)
        assert_int_equal(h[i], 0);
    free(p);
}

/* A file laid out by hand as llm.c's train_gpt2.py writes it. */
static void test_llmc_layout(void **state)
{
    gpt2_config_t c = {.max_seq_len = 4,
                       .vocab_size = 10,
                       .padded_vocab_size = 12,
                       .num_layers = 1,
                       .num_heads = 1,
                       .channels = 2};
    size_t n = gpt2_num_params(&c);
    size_t bytes = 1024 + n * sizeof(float);
    unsigned char *file = calloc(1, bytes);
    int32_t *h = (int32_t *)file;
    h[0] = 20240326;
    h[1] = 3;
    h[2] = 4;  /* maxT */
    h[3] = 10; /* V */
    h[4] = 1;  /* L */
    h[5] = 1;  /* NH */
    h[6] = 2;  /* C */
    h[7] = 12; /* Vp */
    float *params = (float *)(file + 1024);
    for (size_t i = 0; i < n; i++)
        params[i] = (float)i * 0.5f - 3.0f;
    char path[300], err[256];
    path_in_tmp(path, sizeof(path), "llmc.bin");
    write_bytes(path, file, bytes);

    gpt2_config_t r;
    float *q = NULL;
    assert_int_equal(gpt2_model_read(path, &r, &q, err, sizeof(err)), 0);
    assert_int_equal(r.max_seq_len, 4);
    assert_int_equal(r.vocab_size, 10);
    assert_int_equal(r.num_layers, 1);
    assert_int_equal(r.num_heads, 1);
    assert_int_equal(r.channels, 2);
    assert_int_equal(r.padded_vocab_size, 12);
    assert_memory_equal(q, params, n * sizeof(float));
    /* wpe starts right after wte [Vp, C]; lnfb is the last C floats */
    size_t s[GPT2_NUM_PARAM_TENSORS];
    gpt2_param_sizes(&r, s);
    assert_int_equal(s[GPT2_WTE], 24);
    assert_true(q[24] == 24 * 0.5f - 3.0f);
    assert_true(q[n - 1] == (float)(n - 1) * 0.5f - 3.0f);
    free(q);
    free(file);
}

static void test_bad_files(void **state)
{
    gpt2_config_t c = small_config(), r;
    size_t n = gpt2_num_params(&c);
    float *p = calloc(n, sizeof(float));
    char path[300], bad[300], err[256];
    path_in_tmp(path, sizeof(path), "good.bin");
    path_in_tmp(bad, sizeof(bad), "bad.bin");
    assert_int_equal(gpt2_model_write(path, &c, p), 0);
    size_t bytes = 1024 + n * sizeof(float);
    unsigned char *file = malloc(bytes + 4);
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(file, 1, bytes, f), bytes);
    fclose(f);
    int32_t *h = (int32_t *)file;
    float *q = NULL;

    h[0] = 20240520; /* a token file's magic */
    write_bytes(bad, file, bytes);
    err[0] = '\0';
    assert_int_equal(gpt2_model_read(bad, &r, &q, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "magic"));
    assert_null(q);
    h[0] = 20240326;

    h[1] = 5; /* llm.c's bf16 */
    write_bytes(bad, file, bytes);
    assert_int_equal(gpt2_model_read(bad, &r, &q, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "version"));
    h[1] = 3;

    h[6] = 7; /* C not a multiple of NH */
    write_bytes(bad, file, bytes);
    assert_int_equal(gpt2_model_read(bad, &r, &q, err, sizeof(err)), -EINVAL);
    h[6] = 8;

    write_bytes(bad, file, bytes - 4); /* one float short */
    assert_int_equal(gpt2_model_read(bad, &r, &q, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "truncated"));
    assert_null(q);
    write_bytes(bad, file, 100); /* not even a header */
    assert_int_equal(gpt2_model_read(bad, &r, &q, err, sizeof(err)), -EIO);
    memset(file + bytes, 0, 4);
    write_bytes(bad, file, bytes + 4); /* trailing data: a different shape */
    assert_int_equal(gpt2_model_read(bad, &r, &q, err, sizeof(err)), -EINVAL);

    path_in_tmp(bad, sizeof(bad), "missing.bin");
    assert_int_equal(gpt2_model_read(bad, &r, &q, NULL, 0), -ENOENT);
    path_in_tmp(bad, sizeof(bad), "no/such/dir/x.bin");
    assert_int_equal(gpt2_model_write(bad, &c, p), -ENOENT);
    c.num_heads = 3;
    assert_int_equal(gpt2_model_write(path, &c, p), -EINVAL);
    free(file);
    free(p);
}

/* Mean and standard deviation of x[n]. */
static void moments(const float *x, size_t n, double *mean, double *std)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    *mean = s / (double)n;
    *std = sqrt(s2 / (double)n - *mean * *mean);
}

static void test_init(void **state)
{
    gpt2_config_t c = {.max_seq_len = 64,
                       .vocab_size = 300,
                       .padded_vocab_size = 384,
                       .num_layers = 4,
                       .num_heads = 4,
                       .channels = 64};
    size_t n = gpt2_num_params(&c), s[GPT2_NUM_PARAM_TENSORS], off[GPT2_NUM_PARAM_TENSORS];
    gpt2_param_sizes(&c, s);
    for (int i = 0, o = 0; i < GPT2_NUM_PARAM_TENSORS; o += (int)s[i], i++)
        off[i] = (size_t)o;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    gpt2_model_init(&c, a, 7);
    gpt2_model_init(&c, b, 7);
    assert_memory_equal(a, b, n * sizeof(float)); /* deterministic */
    gpt2_model_init(&c, b, 8);
    assert_memory_not_equal(a, b, s[GPT2_WTE] * sizeof(float));

    double mean, std;
    moments(a + off[GPT2_WTE], 300 * 64, &mean, &std);
    assert_true(fabs(mean) < 0.001 && fabs(std - 0.02) < 0.001);
    for (size_t i = 300 * 64; i < s[GPT2_WTE]; i++)
        assert_true(a[off[GPT2_WTE] + i] == 0.0f);
    moments(a + off[GPT2_QKVW], s[GPT2_QKVW], &mean, &std);
    assert_true(fabs(std - 0.02) < 0.001);
    moments(a + off[GPT2_FCPROJW], s[GPT2_FCPROJW], &mean, &std);
    assert_true(fabs(std - 0.02 / sqrt(8.0)) < 0.0005);
    moments(a + off[GPT2_ATTPROJW], s[GPT2_ATTPROJW], &mean, &std);
    assert_true(fabs(std - 0.02 / sqrt(8.0)) < 0.0005);
    int ones[] = {GPT2_LN1W, GPT2_LN2W, GPT2_LNFW};
    int zeros[] = {GPT2_LN1B,     GPT2_LN2B, GPT2_LNFB,   GPT2_QKVB,
                   GPT2_ATTPROJB, GPT2_FCB,  GPT2_FCPROJB};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < s[ones[k]]; i++)
            assert_true(a[off[ones[k]] + i] == 1.0f);
    for (int k = 0; k < 7; k++)
        for (size_t i = 0; i < s[zeros[k]]; i++)
            assert_true(a[off[zeros[k]] + i] == 0.0f);
    free(a);
    free(b);
}

static void test_init_command(void **state)
{
    char path[300], out_arg[320], err[256];
    path_in_tmp(path, sizeof(path), "init.bin");
    snprintf(out_arg, sizeof(out_arg), "--out=%s", path);
    char *argv[] = {"init",      out_arg, "--layers", "2",    "--heads", "4", "--channels", "32",
                    "--max-seq", "64",    "--vocab",  "1000", "--seed",  "5", NULL};
    assert_int_equal(gpt2_init_main(14, argv), 0);
    gpt2_config_t r;
    float *q = NULL;
    assert_int_equal(gpt2_model_read(path, &r, &q, err, sizeof(err)), 0);
    assert_int_equal(r.num_layers, 2);
    assert_int_equal(r.num_heads, 4);
    assert_int_equal(r.channels, 32);
    assert_int_equal(r.max_seq_len, 64);
    assert_int_equal(r.vocab_size, 1000);
    assert_int_equal(r.padded_vocab_size, 1024);
    size_t n = gpt2_num_params(&r);
    float *want = malloc(n * sizeof(float));
    gpt2_model_init(&r, want, 5);
    assert_memory_equal(q, want, n * sizeof(float));
    free(want);
    free(q);

    char *bad_heads[] = {"init", out_arg, "--channels", "30", "--heads", "4", NULL};
    assert_int_equal(gpt2_init_main(6, bad_heads), 2);
    char *bad_num[] = {"init", "--layers", "two", NULL};
    assert_int_equal(gpt2_init_main(3, bad_num), 2);
    char *missing[] = {"init", "--layers", NULL};
    assert_int_equal(gpt2_init_main(2, missing), 2);
    char *unknown[] = {"init", "--frobnicate", NULL};
    assert_int_equal(gpt2_init_main(2, unknown), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_sizes),  cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_llmc_layout),
        cmocka_unit_test(test_bad_files),    cmocka_unit_test(test_init),
        cmocka_unit_test(test_init_command),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
