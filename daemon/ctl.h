/*
 * Control and status: builds the StatusReply that nodusctl shows (cores, sessions, counters,
 * settings; ctl.c), answers the administrators' requests (drain, kill; ctl_admin.c) and records
 * and sends traces (ctl_trace.c). Loop thread only.
 */
#ifndef NODUS_CTL_H
#define NODUS_CTL_H

#include "daemon.h"
#include "nodus.pb-c.h"

struct session;

/* Appends a StatusReply describing the daemon now to session `to`'s output. */
void ctl_send_status(daemon_t *d, struct session *to);

/* ---- ctl_admin.c ---- */

/*
 * Handles DrainRequest, KillRequest, TraceStart or TraceStop from CTL session s. A peer that is
 * not root or in daemon.admin_group gets CtlReply{NODUS_EPERM}; the session stays open.
 */
void ctl_admin_request(struct session *s, const Nodus__V1__Msg *m);
/* Appends CtlReply{code, message formatted like printf} to s's output. */
void ctl_reply(struct session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- ctl_trace.c ---- */

/* TraceStart from s (an admin): starts recording into a ring of `capacity` events (0: config). */
void ctl_trace_start(struct session *s, uint32_t capacity);
/* TraceStop from s (an admin): stops recording and starts sending the trace to s. */
void ctl_trace_stop(struct session *s);
/* Starts (a ring of trace.capacity events) or stops and discards recording: trace.enabled. */
void ctl_trace_set_enabled(daemon_t *d, int enabled);
/* Sends more of the traces being sent, as far as their peers read (before the loop blocks). */
void ctl_trace_pump(daemon_t *d);
/* Drops s's trace transfer, if any (at close). */
void ctl_trace_release(struct session *s);

#endif
