/*
 * Aligned text tables for nodusctl's human output: add cells row by row, print once, with each
 * column as wide as its widest cell. Control characters in cells are shown as '?'.
 */
#ifndef NODUSCTL_TABLE_H
#define NODUSCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

typedef struct ctl_table ctl_table_t;

/*
 * Creates a table with `ncols` columns: `headers` (borrowed, must outlive the table) and
 * `align`, one char per column, 'l' or 'r'. NULL on OOM.
 */
ctl_table_t *table_create(size_t ncols, const char *const *headers, const char *align);
/* Appends the next cell (row after row), formatted like printf. Returns 0 or NODUS_ENOMEM. */
int table_cell(ctl_table_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the header line and every complete row. */
void table_print(const ctl_table_t *t, FILE *out);
void table_free(ctl_table_t *t);

#endif
