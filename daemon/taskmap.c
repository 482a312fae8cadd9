/*
 * taskmap: linear probing over a power-of-two table, kept at most 3/4 full. Ids are mostly
 * consecutive, so they are mixed with a 64-bit multiplicative (Fibonacci) hash to spread runs
 * over the table. Deletion shifts later members of the probe run back into the hole instead of
 * leaving a tombstone, so the table never degrades under the submit/done churn of a session.
 */
#include "taskmap.h"

#include <stdlib.h>

#include "nodus.h"

#define TASKMAP_MIN_CAP 64u

static size_t slot_of(uint64_t id, size_t cap)
{
    /* top bits of the product are the best mixed; cap is a power of two */
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

void taskmap_init(taskmap_t *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void taskmap_free(taskmap_t *m)
{
    free(m->slots);
    taskmap_init(m);
}

size_t taskmap_count(const taskmap_t *m)
{
    return m->count;
}

/* Places an entry known to be absent into a table with room (no duplicate check). */
static void place(taskmap_slot_t *slots, size_t cap, uint64_t id, task_t *t)
{
    size_t i = slot_of(id, cap);
    while (slots[i].id != 0)
        i = (i + 1) & (cap - 1);
    slots[i].id = id;
    slots[i].task = t;
}

static int grow(taskmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : TASKMAP_MIN_CAP;
    if (cap < m->cap || cap > SIZE_MAX / sizeof(taskmap_slot_t)) return NODUS_ENOMEM;
    taskmap_slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return NODUS_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].id != 0) place(slots, cap, m->slots[i].id, m->slots[i].task);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int taskmap_insert(taskmap_t *m, uint64_t id, task_t *t)
{
    if (id == 0) return NODUS_EINVAL;
    if ((m->count + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc < 0) return rc;
    }
    size_t i = slot_of(id, m->cap);
    while (m->slots[i].id != 0) {
        if (m->slots[i].id == id) return NODUS_EINVAL;
        i = (i + 1) & (m->cap - 1);
    }
    m->slots[i].id = id;
    m->slots[i].task = t;
    m->count++;
    return 0;
}

static size_t find_slot(const taskmap_t *m, uint64_t id, int *found)
{
    *found = 0;
    if (m->cap == 0 || id == 0) return 0;
    size_t i = slot_of(id, m->cap);
    while (m->slots[i].id != 0) {
        if (m->slots[i].id == id) {
            *found = 1;
            return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return i;
}

task_t *taskmap_find(const taskmap_t *m, uint64_t id)
{
    int found;
    size_t i = find_slot(m, id, &found);
    return found ? m->slots[i].task : NULL;
}

task_t *taskmap_remove(taskmap_t *m, uint64_t id)
{
    int found;
    size_t hole = find_slot(m, id, &found);
    if (!found) return NULL;
    task_t *t = m->slots[hole].task;
    size_t mask = m->cap - 1;
    /* Backward shift: move each later member of the run whose home slot does not lie in
     * (hole, j] into the hole, until the run ends at an empty slot. */
    for (size_t j = (hole + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m->slots[j].id, m->cap);
        size_t dist_home = (j - home) & mask; /* how far j is from its home */
        size_t dist_hole = (j - hole) & mask; /* how far j is from the hole */
        if (dist_home >= dist_hole) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].id = 0;
    m->slots[hole].task = NULL;
    m->count--;
    return t;
}
