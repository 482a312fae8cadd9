/*
 * nodusctl's administrative commands: drain, kill SESSION, trace start, trace stop FILE. nodusd
 * answers each with a CtlReply (code and text), or streams a trace as TraceChunk messages. They
 * need root, nodusd's own user or its admin group; anyone else gets NODUS_EPERM.
 */
#ifndef NODUSCTL_ADMIN_H
#define NODUSCTL_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "ctl_conn.h"

/*
 * Each returns 0, or a NODUS_E* code with err set (also when nodusd refused: its code, e.g.
 * NODUS_EPERM). The outcome is printed to `out` (a line, or with `json` one JSON object
 * {ok, code, error, message, ...}), failures included.
 */
int ctl_drain(ctl_conn_t *c, int json, FILE *out, char *err, size_t errlen);
int ctl_kill(ctl_conn_t *c, uint64_t session_id, int json, FILE *out, char *err, size_t errlen);
int ctl_trace_start(ctl_conn_t *c, uint32_t capacity, int json, FILE *out, char *err,
                    size_t errlen);
/* Stops the trace and writes it to `path` ("-": standard output, then nothing else is printed). */
int ctl_trace_stop(ctl_conn_t *c, const char *path, int json, FILE *out, char *err, size_t errlen);

#endif
