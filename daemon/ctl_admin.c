/*
 * Administrators' requests on CTL sessions: drain and kill here, traces in ctl_trace.c. Each is
 * answered with a CtlReply (or, for a trace, TraceChunk messages): a refused or failed request
 * is the peer's answer, not a protocol violation, so the session stays open.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "ctl.h"
#include "log.h"
#include "nodus.h"
#include "service.h"
#include "session.h"
#include "validate.h"

void ctl_reply(session_t *s, int code, const char *fmt, ...)
{
    char text[NODUS_MAX_ERROR_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    Nodus__V1__CtlReply r = NODUS__V1__CTL_REPLY__INIT;
    r.code = code;
    r.message = text;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_CTL_REPLY;
    m.ctl_reply = &r;
    (void)session_send(s, &m);
}

static void on_drain(session_t *s)
{
    daemon_t *d = s->d;
    if (d->draining) {
        ctl_reply(s, 0, "already draining: %zu client sessions open", d->nclients);
        return;
    }
    ctl_reply(s, 0, "draining: %zu client sessions open, drain timeout %u s", d->nclients,
              d->cfg.drain_timeout_s);
    /* the reply goes out now: the daemon may stop as soon as the loop turns */
    session_flush(s);
    char why[64];
    snprintf(why, sizeof why, "nodusctl drain, uid %u", s->uid);
    service_drain(d, why);
}

static void on_kill(session_t *s, uint64_t id)
{
    daemon_t *d = s->d;
    session_t *victim = NULL;
    for (session_t *o = d->sessions; o; o = o->next)
        if (o->id == id && o->state != SESSION_CLOSED) victim = o;
    if (!victim) {
        ctl_reply(s, NODUS_EINVAL, "no open session %" PRIu64, id);
        return;
    }
    if (victim == s) {
        ctl_reply(s, NODUS_EINVAL, "session %" PRIu64 " is this connection", id);
        return;
    }
    LOG(LOG_NOTICE, "session", victim->id,
        "killed by uid %u (session %" PRIu64 "): uid=%u pid=%u job=%s, %" PRIu64 " of %" PRIu64
        " tasks done",
        s->uid, s->id, victim->uid, victim->pid, victim->job, victim->done, victim->submitted);
    ctl_reply(s, 0, "session %" PRIu64 " (uid %u, pid %u, job %s) closed", id, victim->uid,
              victim->pid, victim->job[0] ? victim->job : "-");
    session_send_error(victim, NODUS_ECLOSED, "session killed by an administrator");
    session_close(victim, "killed by an administrator", 1);
}

void ctl_admin_request(session_t *s, const Nodus__V1__Msg *m)
{
    daemon_t *d = s->d;
    if (!admin_peer_allowed(&d->admin, s->uid, s->gid)) {
        LOG(LOG_NOTICE, "session", s->id, "uid=%u pid=%u may not %s: not root or in group %s",
            s->uid, s->pid, msg_body_name(m), d->admin.valid ? d->cfg.admin_group : "(none)");
        ctl_reply(s, NODUS_EPERM, "permission denied: %s needs root%s%s", msg_body_name(m),
                  d->admin.valid ? " or group " : "", d->admin.valid ? d->cfg.admin_group : "");
        return;
    }
    switch (m->body_case) {
    case NODUS__V1__MSG__BODY_DRAIN_REQUEST:
        on_drain(s);
        break;
    case NODUS__V1__MSG__BODY_KILL_REQUEST:
        on_kill(s, m->kill_request->session_id);
        break;
    case NODUS__V1__MSG__BODY_TRACE_START:
        ctl_trace_start(s, m->trace_start->capacity_events);
        break;
    case NODUS__V1__MSG__BODY_TRACE_STOP:
        ctl_trace_stop(s);
        break;
    default:
        break;
    }
}
