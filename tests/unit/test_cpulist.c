/*
 * Unit tests for proto/cpulist.c: the kernel's CPU list syntax, core counts, limits, and
 * formatting back to the compact form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpulist.h"
#include "nodus.h"
#include "nodus_limits.h"

/* Parses s as a list (count_ok off) and checks the ids. */
static void expect_ids(const char *s, const uint32_t *want, size_t nwant)
{
    uint32_t ids[64];
    size_t n = 99;
    unsigned count = 99;
    int rc = cpulist_parse(s, 0, ids, 64, &n, &count);
    if (rc != 0) fail_msg("\"%s\" rejected (%d)", s, rc);
    assert_int_equal(count, 0);
    assert_int_equal(n, nwant);
    assert_memory_equal(ids, want, nwant * sizeof *want);
}

static void expect_invalid(const char *s)
{
    uint32_t ids[64];
    size_t n = 99;
    unsigned count = 99;
    for (int count_ok = 0; count_ok <= 1; count_ok++) {
        if (cpulist_parse(s, count_ok, ids, 64, &n, &count) != NODUS_EINVAL)
            fail_msg("\"%s\" accepted (count_ok %d)", s ? s : "(null)", count_ok);
        assert_int_equal(n, 0);
        assert_int_equal(count, 0);
    }
}

static void test_lists(void **state)
{
    const uint32_t a[] = {0, 1, 2, 3, 6};
    expect_ids("0-3,6", a, 5);
    expect_ids(" 0-3 , 6 ", a, 5);     /* spaces around items */
    expect_ids("6,0-3", a, 5);         /* unsorted */
    expect_ids("3,2,1,0,6,6", a, 5);   /* duplicates */
    expect_ids("0-3,1-2,6,0-0", a, 5); /* overlapping ranges */
    const uint32_t b[] = {7};
    expect_ids("7", b, 1);
    expect_ids("7-7", b, 1);
    const uint32_t c[] = {0};
    expect_ids("0", c, 1); /* CPU 0, not a count */
    const uint32_t d[] = {4095, 4096, 60000};
    expect_ids("60000,4095-4096", d, 3); /* ids above NODUS_MAX_CORES exist on big machines */
}

static void test_bad_syntax(void **state)
{
    expect_invalid("3-1");
    expect_invalid("a");
    expect_invalid("1,,2");
    expect_invalid("-1");
    expect_invalid("");
    expect_invalid("   ");
    expect_invalid(NULL);
    expect_invalid("1,");
    expect_invalid(",1");
    expect_invalid("1-");
    expect_invalid("1-2-3");
    expect_invalid("1 2");
    expect_invalid("0 - 3");
    expect_invalid("+1");
    expect_invalid("0x3");
    expect_invalid("1;2");
    expect_invalid("99999999999999999999999");
    expect_invalid("65536"); /* past the id limit */
}

static void test_count(void **state)
{
    uint32_t ids[8];
    size_t n = 99;
    unsigned count = 99;
    /* "4" with count_ok: four cores, no ids */
    assert_int_equal(cpulist_parse("4", 1, ids, 8, &n, &count), 0);
    assert_int_equal(count, 4);
    assert_int_equal(n, 0);
    assert_int_equal(cpulist_parse(" 4 ", 1, ids, 8, &n, &count), 0);
    assert_int_equal(count, 4);
    /* without count_ok it is CPU 4 */
    assert_int_equal(cpulist_parse("4", 0, ids, 8, &n, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 4);
    /* a list stays a list with count_ok */
    assert_int_equal(cpulist_parse("4,5", 1, ids, 8, &n, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(n, 2);
    assert_int_equal(cpulist_parse("0-1", 1, ids, 8, &n, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(n, 2);
    /* counts range over 1..NODUS_MAX_CORES; a count needs no id space */
    assert_int_equal(cpulist_parse("0", 1, ids, 8, &n, &count), NODUS_EINVAL);
    assert_int_equal(cpulist_parse("4096", 1, NULL, 0, &n, &count), 0);
    assert_int_equal(count, NODUS_MAX_CORES);
    assert_int_equal(cpulist_parse("4097", 1, ids, 8, &n, &count), NODUS_EINVAL);
    /* count may be NULL when the caller wants ids only */
    assert_int_equal(cpulist_parse("2-3", 0, ids, 8, &n, NULL), 0);
    assert_int_equal(n, 2);
}

static void test_limit(void **state)
{
    uint32_t ids[4];
    size_t n = 99;
    assert_int_equal(cpulist_parse("0-3", 0, ids, 4, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_int_equal(cpulist_parse("0-4", 0, ids, 4, &n, NULL), NODUS_ELIMIT);
    assert_int_equal(n, 0);
    assert_int_equal(cpulist_parse("0,2,4,6,8", 0, ids, 4, &n, NULL), NODUS_ELIMIT);
    /* duplicates do not count towards the limit */
    assert_int_equal(cpulist_parse("0-3,0-3,2", 0, ids, 4, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_int_equal(cpulist_parse("3,3,3,3,3,3", 0, ids, 1, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 3);

    uint32_t *big = calloc(NODUS_MAX_CORES + 1, sizeof *big);
    assert_non_null(big);
    assert_int_equal(cpulist_parse("0-4095", 0, big, NODUS_MAX_CORES, &n, NULL), 0);
    assert_int_equal(n, NODUS_MAX_CORES);
    assert_int_equal(big[4095], 4095);
    assert_int_equal(cpulist_parse("0-4096", 0, big, NODUS_MAX_CORES, &n, NULL), NODUS_ELIMIT);
    free(big);
}

static void expect_format(const uint32_t *ids, size_t n, const char *want)
{
    char buf[256];
    assert_int_equal(cpulist_format(ids, n, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);
}

static void test_format(void **state)
{
    const uint32_t a[] = {0, 1, 2, 3, 6};
    expect_format(a, 5, "0-3,6");
    const uint32_t b[] = {1, 3, 5};
    expect_format(b, 3, "1,3,5");
    const uint32_t c[] = {0, 1, 4, 5, 6, 9, 10};
    expect_format(c, 7, "0-1,4-6,9-10");
    const uint32_t d[] = {4095};
    expect_format(d, 1, "4095");
    expect_format(NULL, 0, "");

    /* too small a buffer: the needed length back, a terminated prefix of whole items */
    char small[5];
    memset(small, 'x', sizeof small);
    assert_int_equal(cpulist_format(c, 7, small, sizeof small), strlen("0-1,4-6,9-10"));
    assert_string_equal(small, "0-1");
    assert_int_equal(cpulist_format(c, 7, NULL, 0), strlen("0-1,4-6,9-10"));
}

static void test_round_trip(void **state)
{
    /* pseudo-random sets of ids: format, parse, compare */
    uint32_t seed = 12345;
    for (int round = 0; round < 200; round++) {
        uint32_t ids[128], back[128];
        size_t n = 0;
        uint32_t id = 0;
        for (int i = 0; i < 1 + round % 100 && n < 128; i++) {
            seed = seed * 1103515245u + 12345u;
            id += 1 + (seed >> 16) % 4; /* gaps of 0..3 between ids */
            ids[n++] = id;
        }
        char buf[1024];
        size_t len = cpulist_format(ids, n, buf, sizeof buf);
        assert_true(len < sizeof buf);
        size_t m;
        assert_int_equal(cpulist_parse(buf, 0, back, 128, &m, NULL), 0);
        assert_int_equal(m, n);
        assert_memory_equal(back, ids, n * sizeof *ids);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists),  cmocka_unit_test(test_bad_syntax),
        cmocka_unit_test(test_count),  cmocka_unit_test(test_limit),
        cmocka_unit_test(test_format), cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
