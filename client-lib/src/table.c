/*
 * Task table: chunked array indexed by task id (see table.h).
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>

static uint64_t chunk_of(uint64_t id)
{
    return (id - 1) / TABLE_CHUNK;
}

static size_t slot_of(uint64_t id)
{
    return (size_t)((id - 1) % TABLE_CHUNK);
}

void table_init(task_table_t *t)
{
    memset(t, 0, sizeof *t);
}

void table_free(task_table_t *t)
{
    for (size_t i = 0; i < t->dir_len; i++)
        free(t->dir[i]);
    free(t->dir);
    free(t->spare);
    memset(t, 0, sizeof *t);
}

int table_insert(task_table_t *t, uint64_t id, const nodus_task_fn fn[3], void *arg,
                 uint32_t ncores, bool idempotent)
{
    uint64_t c = chunk_of(id);
    if (t->dir_len == 0) t->dir_base = c;
    size_t idx = (size_t)(c - t->dir_base);
    if (idx >= t->dir_len) {
        /* ids are sequential, so a new chunk is always the next one */
        if (t->dir_len == t->dir_cap) {
            size_t cap = t->dir_cap ? t->dir_cap * 2 : 16;
            task_chunk_t **nd = realloc(t->dir, cap * sizeof *nd);
            if (!nd) return NODUS_ENOMEM;
            t->dir = nd;
            t->dir_cap = cap;
        }
        task_chunk_t *chunk = t->spare;
        if (chunk)
            t->spare = NULL; /* all its entries were completed, so all are FREE */
        else if (!(chunk = calloc(1, sizeof *chunk))) /* every entry FREE */
            return NODUS_ENOMEM;
        chunk->live = 0;
        t->dir[t->dir_len++] = chunk;
        idx = t->dir_len - 1;
    }
    task_chunk_t *chunk = t->dir[idx];
    task_entry_t *e = &chunk->entries[slot_of(id)];
    memcpy(e->fn, fn, sizeof e->fn);
    e->arg = arg;
    e->kind = NODUS_DEV_CPU;
    e->ncores = ncores;
    e->idempotent = idempotent;
    e->run = 0;
    e->state = TASK_ENTRY_SUBMITTED;
    chunk->live++;
    return 0;
}

task_entry_t *table_lookup(task_table_t *t, uint64_t id)
{
    if (id == 0 || t->dir_len == 0) return NULL;
    uint64_t c = chunk_of(id);
    if (c < t->dir_base || c - t->dir_base >= t->dir_len) return NULL;
    task_chunk_t *chunk = t->dir[c - t->dir_base];
    if (!chunk) return NULL;
    task_entry_t *e = &chunk->entries[slot_of(id)];
    return e->state == TASK_ENTRY_FREE ? NULL : e;
}

int table_complete(task_table_t *t, uint64_t id, uint64_t next_id)
{
    task_entry_t *e = table_lookup(t, id);
    if (!e) return NODUS_EINVAL;
    uint64_t c = chunk_of(id);
    size_t idx = (size_t)(c - t->dir_base);
    task_chunk_t *chunk = t->dir[idx];
    e->state = TASK_ENTRY_FREE;
    e->arg = NULL;
    if (--chunk->live > 0 || chunk_of(next_id) <= c)
        return 0; /* still in use, or still receiving new tasks */
    t->dir[idx] = NULL;
    if (!t->spare)
        t->spare = chunk;
    else
        free(chunk);
    size_t drop = 0;
    while (drop < t->dir_len && !t->dir[drop])
        drop++;
    if (drop) {
        memmove(t->dir, t->dir + drop, (t->dir_len - drop) * sizeof *t->dir);
        t->dir_len -= drop;
        t->dir_base += drop;
    }
    return 0;
}
