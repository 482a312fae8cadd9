/*
 * `nodusctl status`: asks nodusd for a StatusReply and prints it as text or JSON.
 */
#ifndef NODUSCTL_STATUS_H
#define NODUSCTL_STATUS_H

#include <stdint.h>
#include <stdio.h>

#include "ctl_conn.h"

/* Requests the daemon's status over `c` and prints it; 0 or a NODUS_E* code with err set. */
int ctl_status(ctl_conn_t *c, int json, FILE *out, char *err, size_t errlen);

/* The parts `top` reuses: uptime as "3d 04:05:06", the sessions and devices tables, kind names. */
void status_format_uptime(uint64_t ns, char *buf, size_t len);
void status_print_sessions(const Nodus__V1__StatusReply *r, FILE *out);
void status_print_devices(const Nodus__V1__StatusReply *r, FILE *out);

/* Human-readable: a header line, the settings, the cores table and the sessions table. */
void status_print_text(const Nodus__V1__StatusReply *r, FILE *out);
/*
 * One JSON object: pid, version, uptime_s, draining, settings {default_weight, max_weight,
 * lookahead, reserve_after_ms, drain_timeout_s, log_level, admin_group, trace_recording,
 * trace_events, trace_capacity}, cores [{cpu, busy, session_id, task_id, label,
 * last_session_id}], sessions [{session_id, uid, pid, job, client, role, weight, submitted,
 * waiting, ready, running, done, core_ns, core_s}], counters {the DaemonCounters fields}. Keys
 * follow nodus.proto's field names, except job/client (job_name/client_name) and the added
 * seconds (uptime_s, core_s, 3 decimals). Scripts rely on these names: add keys, never rename.
 */
void status_print_json(const Nodus__V1__StatusReply *r, FILE *out);

#endif
