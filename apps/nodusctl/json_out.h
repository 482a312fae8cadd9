/*
 * A minimal streaming JSON writer for nodusctl --json: objects, arrays, strings (escaped, with
 * invalid UTF-8 replaced by U+FFFD), integers and fixed-point seconds. Compact output.
 */
#ifndef NODUSCTL_JSON_OUT_H
#define NODUSCTL_JSON_OUT_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct json_out {
    FILE *f; /* borrowed */
    int depth;
    unsigned char has_items[JSON_MAX_DEPTH]; /* per level: a comma is due before the next */
} json_out_t;

/* Starts writing one JSON value to f. */
void json_init(json_out_t *j, FILE *f);
/* `key` names the member inside an object; pass NULL at top level and inside arrays. */
void json_object_begin(json_out_t *j, const char *key);
void json_object_end(json_out_t *j);
void json_array_begin(json_out_t *j, const char *key);
void json_array_end(json_out_t *j);
void json_str(json_out_t *j, const char *key, const char *s); /* NULL s writes "" */
void json_u64(json_out_t *j, const char *key, uint64_t v);
void json_i64(json_out_t *j, const char *key, int64_t v);
void json_bool(json_out_t *j, const char *key, int v);
/* A duration in nanoseconds written as seconds with 3 decimals (exact, no floating point). */
void json_seconds(json_out_t *j, const char *key, uint64_t ns);
/* A percentage with 2 decimals (12.34). */
void json_percent(json_out_t *j, const char *key, double pct);
/* Writes a string literal, quotes included (also used for keys). */
void json_write_string(FILE *f, const char *s);

#endif
