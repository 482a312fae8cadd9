/*
 * Unit tests for daemon/admin.c: group resolution and the administrator check, against the
 * groups of this machine (root and nobody exist everywhere the tests run; a test that needs
 * another account skips that part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <grp.h>
#include <pwd.h>

#include <cmocka.h>

#include "admin.h"
#include "nodus.h"

static void test_resolve(void **state)
{
    admin_group_t g;
    assert_int_equal(admin_group_resolve("", 0, &g), 0); /* root only */
    assert_false(g.valid);
    assert_int_equal(admin_group_resolve(NULL, 0, &g), 0);
    assert_false(g.valid);
    assert_int_equal(admin_group_resolve("no-such-group-nodus-test", 0, &g), NODUS_EINVAL);
    assert_false(g.valid);
    struct group *root = getgrgid(0);
    assert_non_null(root);
    assert_int_equal(admin_group_resolve(root->gr_name, 0, &g), 0);
    assert_true(g.valid);
    assert_int_equal(g.gid, 0);
    (void)state;
}

static void test_allowed(void **state)
{
    admin_group_t none = {.valid = false, .owner = 0};
    assert_true(admin_peer_allowed(&none, 0, 0)); /* root always */
    assert_false(admin_peer_allowed(&none, 65534, 65534));
    none.owner = 1000; /* a per-user daemon: its user administers it */
    assert_true(admin_peer_allowed(&none, 1000, 1000));
    assert_true(admin_peer_allowed(&none, 0, 0));
    assert_false(admin_peer_allowed(&none, 1001, 1000));

    struct passwd *nobody = getpwnam("nobody");
    if (!nobody) skip();
    admin_group_t g = {.valid = true, .gid = 0, .owner = 0};
    /* nobody is not in group 0; with its own primary group as the admin group it is */
    assert_false(admin_peer_allowed(&g, nobody->pw_uid, nobody->pw_gid));
    g.gid = nobody->pw_gid;
    assert_true(admin_peer_allowed(&g, nobody->pw_uid, nobody->pw_gid));
    /* a peer whose process runs with another primary gid, but whose account is in the group */
    assert_true(admin_peer_allowed(&g, nobody->pw_uid, 12345));
    /* a uid with no account: only its process gid counts */
    assert_false(admin_peer_allowed(&g, 4000000, 4000000));
    assert_true(admin_peer_allowed(&g, 4000000, nobody->pw_gid));
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
