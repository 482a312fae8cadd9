/*
 * test_gpt2_tokenizer.c: llm.c's tokenizer file: files written by hand at llm.c's layout
 * (versions 1 and 2), refused files, and, with data/gpt2, the file written from encoder.json
 * decoding what the encoder encodes.
 */
#include <errno.h>
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
#include "gpt2_tokenizer.h"

/* Writes an llm.c tokenizer file by hand: header, then length-prefixed tokens; `cut` bytes are
 * left off the end. */
static void write_tokenizer(const char *path, int version, int vocab, int eot,
                            const char *const *tokens, int ntokens, size_t cut)
{
    unsigned char buf[4096] = {0};
    int32_t *h = (int32_t *)buf;
    h[0] = 20240328;
    h[1] = version;
    h[2] = vocab;
    h[3] = eot;
    size_t n = 1024;
    for (int i = 0; i < ntokens; i++) {
        size_t len = strlen(tokens[i]);
        buf[n++] = (unsigned char)len;
        memcpy(buf + n, tokens[i], len);
        n += len;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n - cut, f), n - cut);
    fclose(f);
}

static void test_hand_written(void **state)
{
    static const char *const toks[] = {"a", "b", "cd", " the", "<|endoftext|>"};
    char path[300], err[256];
    snprintf(path, sizeof(path), "%s/tok.bin", tmpdir);
    write_tokenizer(path, 2, 5, 4, toks, 5, 0);
    gpt2_tokenizer_t *tok = NULL;
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), 0);
    assert_int_equal(gpt2_tokenizer_vocab_size(tok), 5);
    assert_int_equal(gpt2_tokenizer_eot(tok), 4);
    size_t len;
    const unsigned char *b = gpt2_tokenizer_decode(tok, 3, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(b, " the", 4);
    assert_null(gpt2_tokenizer_decode(tok, 5, &len));
    assert_null(gpt2_tokenizer_decode(tok, -1, &len));
    int32_t ids[] = {2, 3, 0, 1, 4};
    char *text;
    assert_int_equal(gpt2_tokenizer_decode_all(tok, ids, 5, &text, &len), 0);
    assert_string_equal(text, "cd theab<|endoftext|>");
    assert_int_equal(len, 21);
    free(text);
    int32_t bad[] = {0, 9};
    assert_int_equal(gpt2_tokenizer_decode_all(tok, bad, 2, &text, &len), -EINVAL);
    assert_null(text);
    gpt2_tokenizer_free(tok);
    gpt2_tokenizer_free(NULL);
}

static void test_bad_files(void **state)
{
    static const char *const toks[] = {"a", "b", "c"};
    char path[300], err[256];
    snprintf(path, sizeof(path), "%s/bad.bin", tmpdir);
    gpt2_tokenizer_t *tok = NULL;

    write_tokenizer(path, 2, 3, 2, toks, 3, 1); /* last token cut short */
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "truncated"));
    assert_null(tok);
    write_tokenizer(path, 2, 4, 2, toks, 3, 0); /* one token missing */
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EIO);
    write_tokenizer(path, 3, 3, 2, toks, 3, 0);
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "version"));
    write_tokenizer(path, 1, 3, 0, toks, 3, 0); /* version 1 is GPT-2's 50257 only */
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EINVAL);
    write_tokenizer(path, 2, 3, 3, toks, 3, 0); /* eot out of range */
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EINVAL);
    static const char *const empty[] = {"a", "", "c"};
    write_tokenizer(path, 2, 3, 0, empty, 3, 0);
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "empty"));
    write_tokenizer(path, 2, 3, 2, toks, 3, 1024 + 6); /* nothing at all */
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EIO);
    FILE *f = fopen(path, "wb");
    int32_t h[256] = {20240520, 1, 3}; /* a token file's header */
    fwrite(h, sizeof(h), 1, f);
    fclose(f);
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "magic"));
    snprintf(path, sizeof(path), "%s/missing.bin", tmpdir);
    assert_int_equal(gpt2_tokenizer_read(&tok, path, NULL, 0), -ENOENT);
}

/* Written from encoder.json, read back, it decodes what the encoder encodes. */
static void test_from_encoder(void **state)
{
    char err[512], path[300];
    gpt2_bpe_t *bpe = NULL;
    if (gpt2_bpe_load_dir(&bpe, GPT2_BPE_DIR, err, sizeof(err)) != 0) {
        fprintf(stderr, "skipped: %s (run scripts/fetch-gpt2-tokenizer.sh)\n", err);
        skip();
    }
    snprintf(path, sizeof(path), "%s/gpt2_tokenizer.bin", tmpdir);
    assert_int_equal(gpt2_tokenizer_write(path, bpe), 0);
    gpt2_tokenizer_t *tok = NULL;
    assert_int_equal(gpt2_tokenizer_read(&tok, path, err, sizeof(err)), 0);
    assert_int_equal(gpt2_tokenizer_vocab_size(tok), 50257);
    assert_int_equal(gpt2_tokenizer_eot(tok), 50256);
    for (int id = 0; id < 50257; id++) {
        size_t a, b;
        const unsigned char *x = gpt2_tokenizer_decode(tok, id, &a);
        const unsigned char *y = gpt2_bpe_token_bytes(bpe, id, &b);
        assert_int_equal(a, b);
        assert_memory_equal(x, y, a);
    }
    /* the file's size: header + one length byte per token + the tokens' bytes */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    size_t bytes = 0;
    for (int id = 0; id < 50257; id++) {
        size_t l;
        gpt2_bpe_token_bytes(bpe, id, &l);
        bytes += l;
    }
    assert_int_equal(size, 1024 + 50257 + (long)bytes);

    const char text[] = "Hello, world! \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 it's 2024.\n";
    gpt2_tokens_t t = {0};
    assert_int_equal(gpt2_tokens_push(&t, GPT2_BPE_EOT), 0);
    assert_int_equal(gpt2_bpe_encode(bpe, text, sizeof(text) - 1, &t), 0);
    char *out;
    size_t len;
    assert_int_equal(gpt2_tokenizer_decode_all(tok, t.ids, t.len, &out, &len), 0);
    assert_int_equal(len, 13 + sizeof(text) - 1);
    assert_memory_equal(out, "<|endoftext|>", 13);
    assert_memory_equal(out + 13, text, sizeof(text) - 1);
    free(out);
    gpt2_tokens_free(&t);
    gpt2_tokenizer_free(tok);
    gpt2_bpe_free(bpe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_written),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_from_encoder),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
