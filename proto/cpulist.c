/*
 * CPU list parsing and formatting ("0-3,6").
 */
#include "cpulist.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus_limits.h"
#include "nodus.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* CPU ids the parser accepts are below this (so a list of ids fits a small bitmap). */
#define CPULIST_ID_LIMIT (NODUS_MAX_CORES * 16ul)

static int parse_uint(const char **p, unsigned long *v)
{
    if (!isdigit((unsigned char)**p)) return -1;
    char *end;
    *v = strtoul(*p, &end, 10);
    if (*v >= CPULIST_ID_LIMIT) return -1;
    *p = end;
    return 0;
}

int cpulist_parse(const char *s, int count_ok, uint32_t *out, size_t max, size_t *n,
                  unsigned *count)
{
    *n = 0;
    if (count) *count = 0;
    if (!s) return NODUS_EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s) return NODUS_EINVAL;
    /* "N" alone, with count_ok: a number of cores rather than the CPU id N. */
    if (count_ok) {
        const char *p = s;
        unsigned long v;
        if (parse_uint(&p, &v) == 0) {
            while (isspace((unsigned char)*p))
                p++;
            if (*p == '\0') {
                if (v == 0 || v > NODUS_MAX_CORES) return NODUS_EINVAL;
                if (count) *count = (unsigned)v;
                return 0;
            }
        }
    }
    const char *p = s;
    size_t k = 0;
    /* ids seen so far: a duplicate ("0-3,2") must not count towards `max` */
    uint64_t seen[CPULIST_ID_LIMIT / 64];
    memset(seen, 0, sizeof seen);
    for (;;) {
        unsigned long lo, hi;
        while (isspace((unsigned char)*p))
            p++;
        if (parse_uint(&p, &lo) < 0) return NODUS_EINVAL;
        hi = lo;
        if (*p == '-') {
            p++;
            if (parse_uint(&p, &hi) < 0 || hi < lo) return NODUS_EINVAL;
        }
        for (unsigned long c = lo; c <= hi; c++) {
            if (seen[c / 64] & (1ull << (c % 64))) continue;
            if (k >= max) return NODUS_ELIMIT;
            seen[c / 64] |= 1ull << (c % 64);
            out[k++] = (uint32_t)c;
        }
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0') break;
        if (*p != ',') return NODUS_EINVAL;
        p++;
    }
    qsort(out, k, sizeof *out, cmp_u32);
    *n = k;
    return 0;
}

size_t cpulist_format(const uint32_t *ids, size_t n, char *buf, size_t bufsize)
{
    size_t len = 0;
    if (bufsize) buf[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && ids[j + 1] == ids[j] + 1)
            j++;
        char tmp[32];
        int w = (j > i) ? snprintf(tmp, sizeof tmp, "%s%u-%u", len ? "," : "", ids[i], ids[j])
                        : snprintf(tmp, sizeof tmp, "%s%u", len ? "," : "", ids[i]);
        if (len + (size_t)w < bufsize) memcpy(buf + len, tmp, (size_t)w + 1);
        len += (size_t)w;
        i = j + 1;
    }
    return len;
}
