/*
 * The dependency engine: one per session, sequential task flow over byte ranges.
 *
 * Tasks are added in program order with their accesses. A task depends on every earlier task
 * with a conflicting access on an overlapping byte (read-after-write, write-after-read,
 * write-after-write; partial overlaps included). Many readers of the same data are released
 * together. State is an ordered map of disjoint address segments (red-black tree), each holding
 * its last writer and the readers since; the cost of adding a task is O(k log n) for k touched
 * segments, independent of how many tasks came before.
 *
 * Loop thread only. Not re-entrant: the ready callback must not call back into deps.
 */
#ifndef NODUS_DEPS_H
#define NODUS_DEPS_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

typedef enum deps_mode {
    DEPS_IN = 1,
    DEPS_OUT = 2,
    DEPS_INOUT = 3,
} deps_mode_t;

typedef struct deps_access {
    uint64_t addr;
    uint64_t len; /* > 0, addr + len does not wrap */
    deps_mode_t mode;
} deps_access_t;

typedef struct deps deps_t;

/* Called once for each task whose predecessors have all completed (state set to READY). */
typedef void (*deps_ready_fn)(task_t *t, void *ctx);

/* Creates an empty engine. NULL on OOM. */
deps_t *deps_create(deps_ready_fn on_ready, void *ctx);
/* Drops every reference the engine holds. Tasks themselves belong to their session. */
void deps_destroy(deps_t *d);

/*
 * Adds `t` (state WAITING, not yet known to the engine) after every task added before it.
 * Overlapping accesses within one task are merged (strongest mode wins). Calls on_ready(t)
 * before returning if nothing blocks it. Returns 0 or NODUS_ENOMEM (then `t` was not added and
 * the engine is unchanged for it).
 */
int deps_add(deps_t *d, task_t *t, const deps_access_t *acc, size_t nacc);

/* Marks `t` (READY, RUNNING or DEVICE) DONE and calls on_ready for each successor it unblocks. */
void deps_complete(deps_t *d, task_t *t);

/* Number of address segments held (for tests and status). */
size_t deps_segments(const deps_t *d);

#endif
