/*
 * JSON writer. Strings from nodusd (job names, labels) are checked for control characters by
 * the daemon but not for UTF-8 validity, so the escaper validates UTF-8 itself: the output is
 * always valid JSON.
 */
#include "json_out.h"

#include <inttypes.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there are not one. */
static int utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    int n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0; /* overlong */
        if (c == 0xed) hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90; /* overlong */
        if (c == 0xf4) hi = 0x8f; /* past U+10FFFF */
    } else
        return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return n;
}

void json_write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        unsigned char c = *s;
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\b':
            fputs("\\b", f);
            break;
        case '\f':
            fputs("\\f", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(f, "\\u%04x", c);
            } else if (c >= 0x80) {
                int n = utf8_len(s);
                if (n == 0) {
                    fputs("\\ufffd", f);
                } else {
                    fwrite(s, 1, (size_t)n, f);
                    s += n - 1;
                }
            } else {
                fputc(c, f);
            }
        }
        s++;
    }
    fputc('"', f);
}

void json_init(json_out_t *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->has_items[0] = 0;
}

/* Writes the separator and key that come before a value at the current level. */
static void value_prefix(json_out_t *j, const char *key)
{
    if (j->has_items[j->depth]) fputc(',', j->f);
    j->has_items[j->depth] = 1;
    if (key) {
        json_write_string(j->f, key);
        fputc(':', j->f);
    }
}

static void open_level(json_out_t *j, const char *key, char bracket)
{
    value_prefix(j, key);
    fputc(bracket, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH) j->depth++;
    j->has_items[j->depth] = 0;
}

static void close_level(json_out_t *j, char bracket)
{
    fputc(bracket, j->f);
    if (j->depth > 0) j->depth--;
    if (j->depth == 0) fputc('\n', j->f); /* the top-level value is done */
}

void json_object_begin(json_out_t *j, const char *key)
{
    open_level(j, key, '{');
}

void json_object_end(json_out_t *j)
{
    close_level(j, '}');
}

void json_array_begin(json_out_t *j, const char *key)
{
    open_level(j, key, '[');
}

void json_array_end(json_out_t *j)
{
    close_level(j, ']');
}

void json_str(json_out_t *j, const char *key, const char *s)
{
    value_prefix(j, key);
    json_write_string(j->f, s);
}

void json_u64(json_out_t *j, const char *key, uint64_t v)
{
    value_prefix(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

void json_i64(json_out_t *j, const char *key, int64_t v)
{
    value_prefix(j, key);
    fprintf(j->f, "%" PRId64, v);
}

void json_bool(json_out_t *j, const char *key, int v)
{
    value_prefix(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_seconds(json_out_t *j, const char *key, uint64_t ns)
{
    value_prefix(j, key);
    fprintf(j->f, "%" PRIu64 ".%03" PRIu64, ns / 1000000000u, ns / 1000000u % 1000u);
}

void json_percent(json_out_t *j, const char *key, double pct)
{
    value_prefix(j, key);
    fprintf(j->f, "%.2f", pct);
}
