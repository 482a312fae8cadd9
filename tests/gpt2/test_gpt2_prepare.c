/*
 * test_gpt2_prepare.c: the prepare command end to end: texts (files, '-' for stdin, gzip'd) to
 * llm.c token files, with <|endoftext|> before each document, the validation split, the
 * tokenizer file, usage errors, and the default corpus. Needs data/gpt2; exits 77 without it.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "gpt2_bpe.h"
#include "gpt2_data.h"
#include "gpt2_prepare.h"
#include "gpt2_tokenizer.h"

static char bpe_arg[] = "--bpe-dir=" GPT2_BPE_DIR;

static char *tmp_path(const char *name)
{
    static char paths[8][300];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 300, "%s/%s", tmpdir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Reads a token file and compares it with want[n]. */
static void check_tokens(const char *path, const int32_t *want, size_t n)
{
    uint16_t *t;
    size_t got;
    char err[256];
    assert_int_equal(gpt2_data_read(path, &t, &got, err, sizeof(err)), 0);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(t[i], want[i]);
    free(t);
}

static void test_one_text(void **state)
{
    char *in = tmp_path("hello.txt"), *out = tmp_path("hello.bin");
    write_text(in, "Hello world");
    char *argv[] = {"prepare", bpe_arg, "--quiet", in, out, NULL};
    assert_int_equal(gpt2_prepare_main(5, argv), 0);
    int32_t want[] = {50256, 15496, 995};
    check_tokens(out, want, 3);
    assert_int_equal(access(tmp_path("hello_val.bin"), F_OK), -1); /* no split asked */
}

static void test_several_texts_and_split(void **state)
{
    char *a = tmp_path("a.txt"), *b = tmp_path("b.txt"), *out = tmp_path("ab.bin");
    write_text(a, "Hello, world!");
    write_text(b, " the");
    char *argv[] = {"prepare", "--val-fraction", "0.5", bpe_arg, "--tokenizer", "-q", a, b, out,
                    NULL};
    assert_int_equal(gpt2_prepare_main(9, argv), 0);
    /* 50256 15496 11 995 0 | 50256 262: 7 tokens, floor(3.5) = 3 to validation */
    int32_t train[] = {50256, 15496, 11, 995}, val[] = {0, 50256, 262};
    check_tokens(out, train, 4);
    check_tokens(tmp_path("ab_val.bin"), val, 3);
    gpt2_tokenizer_t *tok;
    char err[256];
    assert_int_equal(gpt2_tokenizer_read(&tok, tmp_path("gpt2_tokenizer.bin"), err, sizeof(err)),
                     0);
    assert_int_equal(gpt2_tokenizer_vocab_size(tok), 50257);
    gpt2_tokenizer_free(tok);

    char val_out[320], tok_out[320];
    snprintf(val_out, sizeof(val_out), "--val-out=%s", tmp_path("v.tokens"));
    snprintf(tok_out, sizeof(tok_out), "--tokenizer=%s", tmp_path("t.bin"));
    char *argv2[] = {"prepare", bpe_arg, "--val-fraction=0.25", val_out, tok_out,
                     "-q",      a,       tmp_path("a.bin"),     NULL};
    assert_int_equal(gpt2_prepare_main(8, argv2), 0);
    int32_t a_train[] = {50256, 15496, 11, 995}, a_val[] = {0};
    check_tokens(tmp_path("a.bin"), a_train, 4);
    check_tokens(tmp_path("v.tokens"), a_val, 1);
    assert_int_equal(access(tmp_path("t.bin"), R_OK), 0);
}

static void test_stdin_and_gzip(void **state)
{
    char *in = tmp_path("s.txt"), *out = tmp_path("s.bin");
    write_text(in, "I'm sure they'll say it's what we've done");
    int32_t want[] = {50256, 40, 1101, 1654, 484, 1183, 910, 340, 338, 644, 356, 1053, 1760};

    int saved = dup(STDIN_FILENO), fd = open(in, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    char *argv[] = {"prepare", bpe_arg, "-q", "-", out, NULL};
    int rc = gpt2_prepare_main(5, argv);
    dup2(saved, STDIN_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    check_tokens(out, want, 13);

    char cmd[700];
    snprintf(cmd, sizeof(cmd), "gzip -c '%s' > '%s'", in, tmp_path("s.txt.gz"));
    if (system(cmd) != 0) skip();
    char *argv2[] = {"prepare", bpe_arg, "-q", tmp_path("s.txt.gz"), out, NULL};
#ifdef GPT2_HAVE_ZLIB
    assert_int_equal(gpt2_prepare_main(5, argv2), 0);
    check_tokens(out, want, 13);
#else
    assert_int_equal(gpt2_prepare_main(5, argv2), 1);
#endif
}

static void test_usage_errors(void **state)
{
    char *out = tmp_path("err.bin"), *in = tmp_path("hello.txt");
    write_text(in, "Hello world");
    char *none[] = {"prepare", NULL};
    assert_int_equal(gpt2_prepare_main(1, none), 2);
    char *unknown[] = {"prepare", "--frob", in, out, NULL};
    assert_int_equal(gpt2_prepare_main(4, unknown), 2);
    char *frac[] = {"prepare", "--val-fraction", "1.5", in, out, NULL};
    assert_int_equal(gpt2_prepare_main(5, frac), 2);
    char *frac2[] = {"prepare", "--val-fraction=x", in, out, NULL};
    assert_int_equal(gpt2_prepare_main(4, frac2), 2);
    char *novalue[] = {"prepare", in, out, "--val-out", NULL};
    assert_int_equal(gpt2_prepare_main(4, novalue), 2);
    char *missing[] = {"prepare", bpe_arg, tmp_path("none.txt"), out, NULL};
    assert_int_equal(gpt2_prepare_main(4, missing), 1);
    char *baddir[] = {"prepare", "--bpe-dir", tmp_path("nowhere"), in, out, NULL};
    assert_int_equal(gpt2_prepare_main(5, baddir), 1);
    char *badout[] = {"prepare", bpe_arg, "-q", in, tmp_path("no/dir/x.bin"), NULL};
    assert_int_equal(gpt2_prepare_main(5, badout), 1);
    assert_int_equal(access(out, F_OK), -1);
    char *help[] = {"prepare", "--help", NULL};
    assert_int_equal(gpt2_prepare_main(2, help), 0);
}

/* The default corpus: Debian's jargon-text (skipped without it, or under the sanitizers). */
static void test_default_corpus(void **state)
{
    const char *san = getenv("NODUS_TEST_SANITIZER");
    if (access(GPT2_DEFAULT_CORPUS, R_OK) != 0 || (san && strcmp(san, "1") == 0)) skip();
#ifndef GPT2_HAVE_ZLIB
    skip();
#endif
    char *out = tmp_path("jargon.bin");
    char *argv[] = {"prepare", bpe_arg, "-q", out, NULL};
    assert_int_equal(gpt2_prepare_main(4, argv), 0);
    uint16_t *t;
    size_t n;
    char err[256];
    assert_int_equal(gpt2_data_read(out, &t, &n, err, sizeof(err)), 0);
    /* 1.68 MB of English: about 477k tokens, one <|endoftext|> at the start */
    assert_true(n > 400000 && n < 600000);
    assert_int_equal(t[0], 50256);
    size_t eots = 0;
    for (size_t i = 0; i < n; i++)
        eots += t[i] == 50256;
    assert_int_equal(eots, 1);
    free(t);
}

int main(void)
{
    char err[512];
    gpt2_bpe_t *bpe;
    if (gpt2_bpe_load_dir(&bpe, GPT2_BPE_DIR, err, sizeof(err)) != 0) {
        fprintf(stderr, "skipped: %s (run scripts/fetch-gpt2-tokenizer.sh)\n", err);
        return 77;
    }
    gpt2_bpe_free(bpe);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_text),       cmocka_unit_test(test_several_texts_and_split),
        cmocka_unit_test(test_stdin_and_gzip), cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_default_corpus),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
