/*
 * test_gpt2_data.c: llm.c's token files (round trip, byte layout, refused files) and the batch
 * loader (llm.c's order, targets shifted by one, epochs, seeded shuffling, reset).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpt2_test_tmp.h"

#include "gpt2_data.h"

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Writes tokens 0..n-1 scaled into range: token i is (i * 7) % 50257. */
static void write_counting(const char *path, size_t n)
{
    int32_t *t = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        t[i] = (int32_t)((i * 7) % 50257);
    assert_int_equal(gpt2_data_write(path, t, n), 0);
    free(t);
}

static void test_round_trip(void **state)
{
    int32_t t[] = {50256, 15496, 995, 0, 65535, 1, 2, 3};
    size_t n = sizeof(t) / sizeof(t[0]);
    char path[300], err[256];
    path_in_tmp(path, sizeof(path), "rt.bin");
    assert_int_equal(gpt2_data_write(path, t, n), 0);
    uint16_t *r = NULL;
    size_t rn = 0;
    assert_int_equal(gpt2_data_read(path, &r, &rn, err, sizeof(err)), 0);
    assert_int_equal(rn, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i], t[i]);
    free(r);

    /* llm.c's layout: header ints 0..2, zeros, then uint16 tokens at byte 1024 */
    FILE *f = fopen(path, "rb");
    unsigned char raw[1024 + 16];
    assert_int_equal(fread(raw, 1, sizeof(raw), f), sizeof(raw));
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
    const int32_t *h = (const int32_t *)raw;
    assert_int_equal(h[0], 20240520);
    assert_int_equal(h[1], 1);
    assert_int_equal(h[2], 8);
    for (int i = 3; i < 256; i++)
        assert_int_equal(h[i], 0);
    assert_int_equal(raw[1024], 50256 & 0xff);
    assert_int_equal(raw[1025], 50256 >> 8);
    assert_int_equal(raw[1032], 0xff);
    assert_int_equal(raw[1033], 0xff);

    /* empty is a valid file */
    assert_int_equal(gpt2_data_write(path, NULL, 0), 0);
    assert_int_equal(gpt2_data_read(path, &r, &rn, err, sizeof(err)), 0);
    assert_int_equal(rn, 0);
    free(r);

    int32_t bad[] = {1, 65536};
    assert_int_equal(gpt2_data_write(path, bad, 2), -ERANGE);
    bad[1] = -1;
    assert_int_equal(gpt2_data_write(path, bad, 2), -ERANGE);
}

/* A file written by hand as llm.c's data scripts do, read by gpt2_data_read and the loader. */
static void test_llmc_file(void **state)
{
    unsigned char file[1024 + 2 * 5] = {0};
    int32_t *h = (int32_t *)file;
    h[0] = 20240520;
    h[1] = 1;
    h[2] = 5;
    uint16_t tok[5] = {50256, 40, 1101, 1654, 13};
    memcpy(file + 1024, tok, sizeof(tok));
    char path[300], err[256];
    path_in_tmp(path, sizeof(path), "llmc.bin");
    write_bytes(path, file, sizeof(file));
    uint16_t *r;
    size_t n;
    assert_int_equal(gpt2_data_read(path, &r, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(r, tok, sizeof(tok));
    free(r);

    gpt2_loader_t *ld;
    assert_int_equal(gpt2_loader_open(&ld, path, 1, 4, false, 0, err, sizeof(err)), 0);
    int in[4], tg[4];
    assert_int_equal(gpt2_loader_next(ld, in, tg), 0);
    int want_in[4] = {50256, 40, 1101, 1654}, want_tg[4] = {40, 1101, 1654, 13};
    assert_memory_equal(in, want_in, sizeof(in));
    assert_memory_equal(tg, want_tg, sizeof(tg));
    assert_int_equal(gpt2_loader_max_token(ld), 50256);
    gpt2_loader_close(ld);
}

static void test_bad_files(void **state)
{
    char path[300], bad[300], err[256];
    path_in_tmp(path, sizeof(path), "good.bin");
    path_in_tmp(bad, sizeof(bad), "bad.bin");
    write_counting(path, 100);
    unsigned char file[1024 + 200 + 2];
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(file, 1, 1224, f), 1224);
    fclose(f);
    int32_t *h = (int32_t *)file;
    uint16_t *r = NULL;
    size_t n;
    gpt2_loader_t *ld = NULL;

    h[0] = 20240326; /* a model file's magic */
    write_bytes(bad, file, 1224);
    assert_int_equal(gpt2_data_read(bad, &r, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "magic"));
    assert_int_equal(gpt2_loader_open(&ld, bad, 1, 4, false, 0, err, sizeof(err)), -EINVAL);
    assert_null(ld);
    h[0] = 20240520;
    h[1] = 2;
    write_bytes(bad, file, 1224);
    assert_int_equal(gpt2_data_read(bad, &r, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "version"));
    h[1] = 1;
    write_bytes(bad, file, 1222); /* one token short */
    assert_int_equal(gpt2_data_read(bad, &r, &n, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(gpt2_loader_open(&ld, bad, 1, 4, false, 0, err, sizeof(err)), -EIO);
    write_bytes(bad, file, 500); /* not even a header */
    assert_int_equal(gpt2_data_read(bad, &r, &n, err, sizeof(err)), -EIO);
    assert_int_equal(gpt2_loader_open(&ld, bad, 1, 4, false, 0, err, sizeof(err)), -EIO);
    file[1224] = file[1225] = 0;
    write_bytes(bad, file, 1226); /* a token more than the header says */
    assert_int_equal(gpt2_data_read(bad, &r, &n, err, sizeof(err)), -EINVAL);
    h[2] = -1;
    write_bytes(bad, file, 1224);
    assert_int_equal(gpt2_data_read(bad, &r, &n, err, sizeof(err)), -EINVAL);
    assert_null(r);

    path_in_tmp(bad, sizeof(bad), "missing.bin");
    assert_int_equal(gpt2_data_read(bad, &r, &n, NULL, 0), -ENOENT);
    assert_int_equal(gpt2_loader_open(&ld, bad, 1, 4, false, 0, NULL, 0), -ENOENT);

    /* 100 tokens: 99 / (B*T) batches; B*T = 99 is one, 100 is none */
    assert_int_equal(gpt2_loader_open(&ld, path, 3, 33, false, 0, err, sizeof(err)), 0);
    assert_int_equal(gpt2_loader_num_batches(ld), 1);
    gpt2_loader_close(ld);
    assert_int_equal(gpt2_loader_open(&ld, path, 4, 25, false, 0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "fewer"));
    assert_int_equal(gpt2_loader_open(&ld, path, 0, 4, false, 0, err, sizeof(err)), -EINVAL);
    assert_int_equal(gpt2_loader_open(&ld, path, 2, -1, false, 0, err, sizeof(err)), -EINVAL);
}

static void test_sequential(void **state)
{
    enum { N = 1000, B = 4, T = 8 };
    char path[300], err[256];
    path_in_tmp(path, sizeof(path), "seq.bin");
    write_counting(path, N);
    gpt2_loader_t *ld;
    assert_int_equal(gpt2_loader_open(&ld, path, B, T, false, 1, err, sizeof(err)), 0);
    assert_int_equal(gpt2_loader_num_tokens(ld), N);
    assert_int_equal(gpt2_loader_num_batches(ld), (N - 1) / (B * T)); /* llm.c's count: 31 */
    assert_int_equal(gpt2_loader_max_token(ld), (N - 1) * 7);
    int in[B * T], tg[B * T];
    size_t nb = gpt2_loader_num_batches(ld);
    for (size_t i = 0; i < nb; i++) {
        assert_int_equal(gpt2_loader_position(ld), i);
        assert_int_equal(gpt2_loader_epoch(ld), 0);
        assert_int_equal(gpt2_loader_next(ld, in, tg), 0);
        /* llm.c: batch i is tokens [i*B*T, i*B*T + B*T], inputs the first B*T, targets +1 */
        for (int k = 0; k < B * T; k++) {
            assert_int_equal(in[k], (int)(((i * B * T + (size_t)k) * 7) % 50257));
            assert_int_equal(tg[k], (int)(((i * B * T + (size_t)k + 1) * 7) % 50257));
        }
    }
    /* the next epoch starts over */
    assert_int_equal(gpt2_loader_epoch(ld), 1);
    assert_int_equal(gpt2_loader_position(ld), 0);
    assert_int_equal(gpt2_loader_next(ld, in, tg), 0);
    assert_int_equal(in[0], 0);
    assert_int_equal(tg[B * T - 1], B * T * 7);
    assert_int_equal(gpt2_loader_epoch(ld), 1);
    gpt2_loader_next(ld, in, tg);
    gpt2_loader_reset(ld);
    assert_int_equal(gpt2_loader_epoch(ld), 0);
    assert_int_equal(gpt2_loader_position(ld), 0);
    gpt2_loader_next(ld, in, tg);
    assert_int_equal(in[1], 7);
    gpt2_loader_close(ld);
}

/* The sequence index of a batch row, recovered from its first input (token i is i*7 % 50257,
 * and i < 50257 here, so the map is one-to-one). */
static int row_sequence(const int *row, int T)
{
    for (int i = 0; i < 50257; i++)
        if ((i * 7) % 50257 == row[0]) return i / T;
    return -1;
}

static void test_shuffle(void **state)
{
    enum { B = 3, T = 5, S = 40 }; /* 40 sequences = 13 batches of 3, 1 left over */
    char path[300], err[256];
    path_in_tmp(path, sizeof(path), "shuf.bin");
    write_counting(path, S * T + 1);
    gpt2_loader_t *a, *b, *c;
    assert_int_equal(gpt2_loader_open(&a, path, B, T, true, 99, err, sizeof(err)), 0);
    assert_int_equal(gpt2_loader_open(&b, path, B, T, true, 99, err, sizeof(err)), 0);
    assert_int_equal(gpt2_loader_open(&c, path, B, T, true, 100, err, sizeof(err)), 0);
    size_t nb = gpt2_loader_num_batches(a);
    assert_int_equal(nb, S / B);
    int in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    int first_epoch[S / B * B];
    bool seen[S] = {false}, differs = false, in_order = true;
    for (size_t i = 0; i < nb; i++) {
        gpt2_loader_next(a, in, tg);
        gpt2_loader_next(b, in2, tg2);
        assert_memory_equal(in, in2, sizeof(in)); /* same seed, same batches */
        assert_memory_equal(tg, tg2, sizeof(tg));
        gpt2_loader_next(c, in2, tg2);
        differs |= memcmp(in, in2, sizeof(in)) != 0;
        for (int r = 0; r < B; r++) {
            int s = row_sequence(in + r * T, T);
            assert_true(s >= 0 && s < S);
            assert_false(seen[s]); /* each sequence at most once per epoch */
            seen[s] = true;
            first_epoch[i * B + (size_t)r] = s;
            in_order &= s == (int)(i * B) + r;
            for (int t = 0; t < T; t++) {
                assert_int_equal(in[r * T + t], ((s * T + t) * 7) % 50257);
                assert_int_equal(tg[r * T + t], ((s * T + t + 1) * 7) % 50257);
            }
        }
    }
    assert_true(differs);
    assert_false(in_order);
    /* epoch 1 is another permutation; reset brings epoch 0 back */
    bool epoch_differs = false;
    for (size_t i = 0; i < nb; i++) {
        gpt2_loader_next(a, in, tg);
        for (int r = 0; r < B; r++)
            epoch_differs |= row_sequence(in + r * T, T) != first_epoch[i * B + (size_t)r];
    }
    assert_true(epoch_differs);
    assert_int_equal(gpt2_loader_epoch(a), 2);
    gpt2_loader_reset(a);
    for (size_t i = 0; i < nb; i++) {
        gpt2_loader_next(a, in, tg);
        for (int r = 0; r < B; r++)
            assert_int_equal(row_sequence(in + r * T, T), first_epoch[i * B + (size_t)r]);
    }
    gpt2_loader_close(a);
    gpt2_loader_close(b);
    gpt2_loader_close(c);
    gpt2_loader_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_llmc_file),
        cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_shuffle),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
