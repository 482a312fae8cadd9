/*
 * `nodusctl top`: a live view of nodusd, redrawn every interval: a header (uptime, tasks/s from
 * the difference of two snapshots' counters, busy cores, sessions), one line per core with the
 * job and task running there, the device queues and the sessions table. On a terminal it uses
 * the alternate screen with plain ANSI escapes and ends on q or Ctrl-C; otherwise (a pipe, a
 * file) it prints `iterations` snapshots one after another and exits.
 */
#ifndef NODUSCTL_TOP_H
#define NODUSCTL_TOP_H

#include <stdio.h>

#include "ctl_conn.h"

/*
 * Runs the view over c. `iterations` 0 means until q (on a terminal) or 1 (otherwise);
 * `interval_ms` is the refresh period. Returns 0 or a NODUS_E* code with err set.
 */
int ctl_top(ctl_conn_t *c, unsigned iterations, unsigned interval_ms, FILE *out, char *err,
            size_t errlen);

#endif
