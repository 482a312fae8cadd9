/*
 * The session's task table: what a task id stands for (bodies per device kind, argument, core
 * count) from submission until its body has returned, and for an OpenCL task until its device
 * work has completed. Ids are dense (1, 2, 3, ...), so the table is an
 * array of fixed-size chunks indexed by id: lookup is O(1), and a chunk is freed as soon as every
 * task in it is done, so memory follows the number of outstanding tasks, not the session's age.
 *
 * Not thread-safe: the owner (struct nodus) serialises every call with its lock.
 */
#ifndef NODUS_CLIENT_TABLE_H
#define NODUS_CLIENT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus.h"

#define TABLE_CHUNK 4096u

typedef enum task_entry_state {
    TASK_ENTRY_FREE = 0,  /* no task, or done */
    TASK_ENTRY_SUBMITTED, /* waiting for its grant */
    TASK_ENTRY_GRANTED,   /* handed to a worker */
    TASK_ENTRY_DEVICE,    /* OpenCL body returned, device work in flight (until DeviceDone) */
} task_entry_state_t;

typedef struct task_entry {
    nodus_task_fn fn[3]; /* the body per nodus_device_kind_t; NULL: not offered */
    void *arg;           /* borrowed from the application */
    uint32_t ncores;
    uint8_t state; /* task_entry_state_t */
    uint8_t kind;  /* nodus_device_kind_t the daemon granted (valid from GRANTED on) */
    uint8_t
        idempotent; /* may be re-run when its outcome is lost (nodus_task_attr_set_idempotent) */
    uint8_t run;    /* bumped on every grant: tells a stale device completion from a re-run */
} task_entry_t;

typedef struct task_chunk {
    uint32_t live; /* entries submitted and not done */
    task_entry_t entries[TABLE_CHUNK];
} task_chunk_t;

typedef struct task_table {
    task_chunk_t **dir; /* dir[i] holds chunk number dir_base + i, or NULL once freed; owned */
    size_t dir_len, dir_cap;
    uint64_t dir_base;
    task_chunk_t *spare; /* one freed chunk kept to avoid malloc churn; owned */
} task_table_t;

/* Initialises an empty table. */
void table_init(task_table_t *t);
/* Frees every chunk. */
void table_free(task_table_t *t);
/*
 * Records task `id`, which must be one more than the last id inserted (the first is 1).
 * Returns 0 or NODUS_ENOMEM (then the table is unchanged).
 */
int table_insert(task_table_t *t, uint64_t id, const nodus_task_fn fn[3], void *arg,
                 uint32_t ncores, bool idempotent);
/* The entry of `id` (borrowed until the next insert/complete), or NULL if the id is not live. */
task_entry_t *table_lookup(task_table_t *t, uint64_t id);
/*
 * Forgets live task `id` (its body returned, and for an OpenCL task its device work ended).
 * `next_id` is the id the next insert will use; it tells whether the task's chunk can still receive
 * tasks. Returns 0, or NODUS_EINVAL if the id is not live.
 */
int table_complete(task_table_t *t, uint64_t id, uint64_t next_id);

#endif
