/*
 * Grant trace for tests: with NODUS_TRACE_GRANTS=FILE the daemon appends one line per granted
 * core and per finished task's core, and one per completed device task:
 *     G <now_ns> <session> <task_id> <cpu>
 *     D <now_ns> <session> <task_id> <cpu>      (the body returned: Done)
 *     V <now_ns> <session> <task_id> <device>   (its device work completed)
 * so a test can prove that no two tasks ever overlapped on a core, and that a device task's
 * successors were granted only after its V line. Buffered; flushed when a
 * session closes and at exit. Loop thread only.
 */
#ifndef NODUS_TRACE_H
#define NODUS_TRACE_H

#include <stdint.h>

typedef struct trace trace_t;

/* Opens `path` for appending; NULL (with errno) on failure. */
trace_t *trace_open(const char *path);
/* Flushes and closes; NULL is ignored. */
void trace_close(trace_t *t);
/* Writes buffered lines to the file. */
void trace_flush(trace_t *t);
void trace_grant(trace_t *t, uint64_t now_ns, uint64_t session, uint64_t task, uint32_t cpu);
void trace_done(trace_t *t, uint64_t now_ns, uint64_t session, uint64_t task, uint32_t cpu);
void trace_device(trace_t *t, uint64_t now_ns, uint64_t session, uint64_t task, uint32_t device);

#endif
