/*
 * gpt2_test_tmp.h: a private temporary directory for one cmocka group of the GPT-2 file tests
 * (model, data, tokenizer, prepare): setup_dir() and teardown_dir() as the group's setup and
 * teardown, path_in_tmp() for a file in it. Include it once, from the test's .c file.
 */
#ifndef GPT2_TEST_TMP_H
#define GPT2_TEST_TMP_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

static inline int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_gpt2.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int teardown_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline void path_in_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

#endif
