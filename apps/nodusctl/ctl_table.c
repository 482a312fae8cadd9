/*
 * Text tables. Widths count UTF-8 characters, not bytes, so names with accents stay aligned.
 */
#include "ctl_table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"

struct ctl_table {
    size_t ncols;
    const char *const *headers;
    const char *align;
    char **cells; /* row-major, owned */
    size_t ncells, cap;
};

/* Display width: one per UTF-8 lead byte (continuation bytes add nothing). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) w++;
    return w;
}

ctl_table_t *table_create(size_t ncols, const char *const *headers, const char *align)
{
    ctl_table_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ncols = ncols;
    t->headers = headers;
    t->align = align;
    return t;
}

int table_cell(ctl_table_t *t, const char *fmt, ...)
{
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **cells = realloc(t->cells, cap * sizeof *cells);
        if (!cells) return NODUS_ENOMEM;
        t->cells = cells;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) return NODUS_ENOMEM;
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?'; /* never let a name move the terminal's cursor */
    t->cells[t->ncells++] = s;
    return 0;
}

static void print_cell(FILE *out, const char *s, size_t width, char align, int last)
{
    size_t pad = width - text_width(s);
    if (align == 'r')
        fprintf(out, "%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, out); /* no trailing blanks */
    else
        fprintf(out, "%s%*s", s, (int)pad, "");
    fputs(last ? "\n" : "  ", out);
}

void table_print(const ctl_table_t *t, FILE *out)
{
    size_t *width = calloc(t->ncols, sizeof *width);
    if (!width) return;
    size_t nrows = t->ncells / t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = text_width(t->headers[c]);
        for (size_t r = 0; r < nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c]) width[c] = w;
        }
    }
    for (size_t c = 0; c < t->ncols; c++)
        print_cell(out, t->headers[c], width[c], t->align[c], c + 1 == t->ncols);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            print_cell(out, t->cells[r * t->ncols + c], width[c], t->align[c], c + 1 == t->ncols);
    free(width);
}

void table_free(ctl_table_t *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
