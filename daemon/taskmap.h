/*
 * taskmap: an open-addressing hash map from a session's task ids (uint64, never 0) to its live
 * tasks. Linear probing with backward-shift deletion (no tombstones), so lookups stay short
 * however many tasks come and go. Holds borrowed pointers: the map never refs or frees a task.
 * Loop thread only (no locking).
 */
#ifndef NODUS_TASKMAP_H
#define NODUS_TASKMAP_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

typedef struct taskmap_slot {
    uint64_t id; /* 0 = empty */
    task_t *task;
} taskmap_slot_t;

typedef struct taskmap {
    taskmap_slot_t *slots; /* owned; NULL until the first insert */
    size_t cap;            /* power of two, or 0 */
    size_t count;
} taskmap_t;

/* Initialises an empty map (allocates nothing). */
void taskmap_init(taskmap_t *m);
/* Frees the slot array; the tasks are not touched. */
void taskmap_free(taskmap_t *m);
/* Adds id -> t. Returns 0, NODUS_EINVAL for id 0 or an id already present, NODUS_ENOMEM. */
int taskmap_insert(taskmap_t *m, uint64_t id, task_t *t);
/* The task with this id, or NULL (borrowed). */
task_t *taskmap_find(const taskmap_t *m, uint64_t id);
/* Removes id and returns its task, or NULL if absent. */
task_t *taskmap_remove(taskmap_t *m, uint64_t id);
/* Number of entries. */
size_t taskmap_count(const taskmap_t *m);

#endif
