/*
 * Trace export: turns a trace ring into Chrome / Perfetto trace JSON (the "traceEvents" object
 * format, which ui.perfetto.dev and chrome://tracing open), written piece by piece so the daemon
 * can stream it to nodusctl in bounded TraceChunk messages while it keeps serving.
 *
 * Layout: process 1 "cores" has one thread per core (tid = OS CPU id); each task body is an "X"
 * (complete) event on each of its cores, named by its label, with args {session, job, uid, task,
 * label}. Process 2 "devices" has one thread per device slot (tid = 1 + device * 64 + slot); the
 * device work of a task is an "X" event there, from its Done (or the end of the work queued
 * before it on that in-order slot) to its completion. Each dependency edge is a flow ("s" in the
 * predecessor's slice, "f" with "bp":"e" in the successor's) drawn as an arrow. Times are in
 * microseconds from the start of recording, with nanosecond decimals.
 *
 * A lookahead grant is recorded when it is queued; its body starts when the one ahead of it on
 * the core is done, so a slice starts at max(its grant, the end of the previous slice on that
 * core). A task still running when the trace stops ends at the stop, with args.unfinished; one
 * whose session closed under it ends at the close. Records whose partner was overwritten in a
 * full ring are left out.
 *
 * Loop thread only (or any single thread); no libuv.
 */
#ifndef NODUS_TRACE_JSON_H
#define NODUS_TRACE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "trace_ring.h"

typedef struct trace_export trace_export_t;

/* Bytes trace_export_next() needs at least in its buffer. */
#define TRACE_EXPORT_MIN_BUF 4096u

/*
 * Builds the export of ring r, which it takes over (freed by trace_export_free, also on
 * failure). `cpus` maps core index -> OS CPU id (copied); `device_names` (may be NULL, borrowed
 * only during the call) names the devices; stop_ns ends the unfinished tasks. NULL on OOM.
 */
trace_export_t *trace_export_create(trace_ring_t *r, const uint32_t *cpus, size_t ncores,
                                    const char *const *device_names, size_t ndevices,
                                    uint64_t stop_ns);
/*
 * Writes the next piece of the JSON text into buf (at most `len` bytes, len >=
 * TRACE_EXPORT_MIN_BUF) and returns its length; *done is set once the text is complete.
 */
size_t trace_export_next(trace_export_t *e, char *buf, size_t len, int *done);
/* Frees the export; NULL is ignored. */
void trace_export_free(trace_export_t *e);

/* What the export holds: task slices on cores, device slices, dependency flows. */
size_t trace_export_core_slices(const trace_export_t *e);
size_t trace_export_device_slices(const trace_export_t *e);
size_t trace_export_flows(const trace_export_t *e);

/*
 * Writes s as a JSON string literal (quotes included) into out, escaping what JSON requires and
 * replacing bytes that are not UTF-8 with U+FFFD; returns the length, at most 6 * strlen(s) + 2
 * (out must hold that plus a NUL).
 */
size_t trace_json_string(char *out, const char *s);

#endif
