/*
 * Unit tests for the error list (nodus/errors.h) and nodus_strerror(): every code has its own
 * message, codes are stable-looking (0, then negative, unique), unknown codes are named as such.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nodus.h"

static const struct {
    const char *name;
    int code;
    const char *msg;
} error_list[] = {
#define ENTRY(name, value, msg) {#name, (value), (msg)},
    NODUS_ERROR_LIST(ENTRY)
#undef ENTRY
};

#define NERRORS (sizeof error_list / sizeof error_list[0])

static const char *const unknown = "unknown nodus error";

static void test_every_code_has_a_message(void **state)
{
    assert_true(NERRORS >= 2);
    for (size_t i = 0; i < NERRORS; i++) {
        const char *s = nodus_strerror(error_list[i].code);
        assert_non_null(s);
        if (s[0] == '\0' || strcmp(s, unknown) == 0)
            fail_msg("NODUS_%s (%d) has no message of its own", error_list[i].name,
                     error_list[i].code);
        assert_string_equal(s, error_list[i].msg);
    }
}

static void test_messages_distinct(void **state)
{
    for (size_t i = 0; i < NERRORS; i++)
        for (size_t j = i + 1; j < NERRORS; j++)
            if (strcmp(nodus_strerror(error_list[i].code), nodus_strerror(error_list[j].code)) == 0)
                fail_msg("NODUS_%s and NODUS_%s share a message", error_list[i].name,
                         error_list[j].name);
}

static void test_codes(void **state)
{
    /* OK is 0 and first; the rest are negative, unique, appended in order (never renumbered) */
    assert_string_equal(error_list[0].name, "OK");
    assert_int_equal(error_list[0].code, 0);
    assert_int_equal(NODUS_OK, 0);
    for (size_t i = 0; i < NERRORS; i++) {
        assert_true(error_list[i].code <= 0);
        for (size_t j = i + 1; j < NERRORS; j++)
            if (error_list[i].code == error_list[j].code)
                fail_msg("NODUS_%s and NODUS_%s share code %d", error_list[i].name,
                         error_list[j].name, error_list[i].code);
        if (i > 0) assert_true(error_list[i].code < error_list[i - 1].code);
    }
    /* the enum and the list agree */
    assert_int_equal(NODUS_EINVAL, -1);
    assert_int_equal(NODUS_EPROTO, -5);
    assert_int_equal(NODUS_EDRAINING, -14);
}

static void test_unknown_codes(void **state)
{
    const int codes[] = {1, 42, -1000, INT_MIN, INT_MAX, error_list[NERRORS - 1].code - 1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_equal(nodus_strerror(codes[i]), unknown);
}

static void test_version(void **state)
{
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", NODUS_VERSION_MAJOR, NODUS_VERSION_MINOR,
             NODUS_VERSION_PATCH);
    assert_string_equal(nodus_version(), expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_a_message),
        cmocka_unit_test(test_messages_distinct),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
