/*
 * StatusReply: a snapshot of every core (who runs what, who ran last), every open session
 * (identity, weight, task counts, core-time) and the daemon counters. Strings are borrowed from
 * the sessions and tasks; the message is encoded into the requester's output before returning.
 */
#include "ctl.h"

#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "nodus.h"
#include "session.h"

static void fill_core(daemon_t *d, size_t i, Nodus__V1__CoreStatus *cs)
{
    nodus__v1__core_status__init(cs);
    cs->cpu = sched_core_cpu(d->sched, i);
    task_t *t = sched_core_task(d->sched, i);
    if (t) {
        cs->busy = 1;
        cs->session_id = t->session ? ((session_t *)t->session)->id : 0;
        cs->task_id = t->id;
        cs->label = t->label;
        cs->queued = (uint32_t)sched_core_queued(d->sched, i);
    }
    sched_client_t *last = sched_core_last_client(d->sched, i);
    if (last) {
        session_t *o = sched_client_owner(last);
        cs->last_session_id = o ? o->id : 0;
    }
}

static void fill_session(session_t *s, uint64_t now, Nodus__V1__SessionStatus *ss)
{
    nodus__v1__session_status__init(ss);
    ss->session_id = s->id;
    ss->uid = s->uid;
    ss->pid = s->pid;
    ss->job_name = s->job;
    ss->client_name = s->client_name;
    ss->weight = s->weight;
    ss->role = s->role;
    ss->submitted = s->submitted;
    ss->done = s->done;
    if (s->client) {
        size_t ready = sched_client_ready(s->client);
        size_t running = sched_client_running(s->client);
        ss->ready = ready;
        ss->running = running;
        ss->waiting = s->live.count > ready + running ? s->live.count - ready - running : 0;
        ss->core_ns = sched_client_core_ns(s->client, now);
    }
}

void ctl_send_status(daemon_t *d, session_t *to)
{
    uint64_t now = uv_hrtime();
    size_t nsess = 0;
    for (session_t *s = d->sessions; s; s = s->next)
        if (s->state != SESSION_CLOSED) nsess++;

    Nodus__V1__CoreStatus *cores = calloc(d->ncores ? d->ncores : 1, sizeof *cores);
    Nodus__V1__CoreStatus **core_ptrs = calloc(d->ncores ? d->ncores : 1, sizeof *core_ptrs);
    Nodus__V1__SessionStatus *sess = calloc(nsess ? nsess : 1, sizeof *sess);
    Nodus__V1__SessionStatus **sess_ptrs = calloc(nsess ? nsess : 1, sizeof *sess_ptrs);
    if (!cores || !core_ptrs || !sess || !sess_ptrs) {
        session_send_error(to, NODUS_ENOMEM, "out of memory for status");
        goto out;
    }
    for (size_t i = 0; i < d->ncores; i++) {
        fill_core(d, i, &cores[i]);
        core_ptrs[i] = &cores[i];
    }
    /* the list is newest first; report oldest first */
    size_t k = nsess;
    for (session_t *s = d->sessions; s; s = s->next) {
        if (s->state == SESSION_CLOSED) continue;
        k--;
        fill_session(s, now, &sess[k]);
        sess_ptrs[k] = &sess[k];
    }

    Nodus__V1__DaemonCounters c = NODUS__V1__DAEMON_COUNTERS__INIT;
    c.uptime_ns = now - d->start_ns;
    c.sessions_total = d->counters.sessions_total;
    c.sessions_dropped = d->counters.sessions_dropped;
    c.tasks_submitted = d->counters.tasks_submitted;
    c.tasks_done = d->counters.tasks_done;
    c.grants = d->counters.grants;
    c.messages_in = d->counters.messages_in;
    c.messages_out = d->counters.messages_out + 1; /* this reply */
    c.bytes_in = d->counters.bytes_in;
    c.bytes_out = d->counters.bytes_out;

    Nodus__V1__StatusReply r = NODUS__V1__STATUS_REPLY__INIT;
    r.pid = (uint32_t)getpid();
    r.version = (char *)nodus_version();
    r.n_cores = d->ncores;
    r.cores = core_ptrs;
    r.n_sessions = nsess;
    r.sessions = sess_ptrs;
    r.counters = &c;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REPLY;
    m.status_reply = &r;
    int rc = session_send(to, &m);
    if (rc < 0) session_send_error(to, rc, "status reply too large");
out:
    free(cores);
    free(core_ptrs);
    free(sess);
    free(sess_ptrs);
}
