/*
 * gpt2_file.c: see gpt2_file.h.
 */
#include "gpt2_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gpt2_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int gpt2_replace_open(gpt2_replace_t *r, const char *path)
{
    size_t len = strlen(path) + 32;
    *r = (gpt2_replace_t){.path = path, .tmp = malloc(len)};
    if (!r->tmp) return -ENOMEM;
    snprintf(r->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    r->f = fopen(r->tmp, "wb");
    if (!r->f) {
        int e = errno;
        free(r->tmp);
        r->tmp = NULL;
        return -e;
    }
    errno = 0; /* so that gpt2_write_error() tells a stdio errno from none */
    return 0;
}

int gpt2_replace_commit(gpt2_replace_t *r, int rc)
{
    if (fclose(r->f) != 0 && rc == 0) rc = gpt2_write_error();
    if (rc == 0 && rename(r->tmp, r->path) != 0) rc = -errno;
    if (rc != 0) unlink(r->tmp);
    free(r->tmp);
    *r = (gpt2_replace_t){0};
    return rc;
}

int gpt2_write_error(void)
{
    return errno ? -errno : -EIO;
}

uint64_t gpt2_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
