/*
 * StatusReply: a snapshot of every core (who runs what, who ran last, which device holds it),
 * every open session (identity, weight, task counts, core-time), every device (in flight, per
 * session, completed, held cores), the users' limits and the daemon counters. Strings are
 * borrowed from the sessions, tasks and devices; the message is encoded into the requester's
 * output before returning.
 *
 * What a peer may see (docs/protocol.md, "Status visibility"): an administrator (admin.h) sees
 * everything. Any other peer sees its own uid's sessions in full and only aggregates of the
 * others': they are counted in hidden_sessions, a core running one of their tasks shows busy
 * with no session, task or label, device per-session lists and the users table leave them out.
 * The daemon-wide counters and settings are shown to everyone.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"
#include "nodus.h"
#include "session.h"
#include "trace_ring.h"

/* Labels of held cores ("held by device 3"), one per core (held cores are few). */
typedef char held_label_t[32];

/* May the requester see session o's identity and tasks? */
static int visible(const session_t *o, int admin, uint32_t uid)
{
    return admin || o->uid == uid;
}

static void fill_core(daemon_t *d, size_t i, Nodus__V1__CoreStatus *cs, held_label_t *label,
                      int admin, uint32_t uid)
{
    nodus__v1__core_status__init(cs);
    cs->cpu = sched_core_cpu(d->sched, i);
    int dev = sched_core_held_by(d->sched, i);
    if (dev >= 0) {
        /* busy with no session: a CPU device's kernels run there */
        cs->busy = 1;
        snprintf(*label, sizeof *label, "held by device %d", dev);
        cs->label = *label;
    }
    task_t *t = sched_core_task(d->sched, i);
    if (t && t->session && !visible(t->session, admin, uid)) {
        cs->busy = 1; /* another user's task: occupancy only */
        cs->label = "";
        t = NULL;
    } else if (t) {
        cs->busy = 1;
        cs->session_id = t->session ? ((session_t *)t->session)->id : 0;
        cs->task_id = t->id;
        cs->label = t->label;
        cs->queued = (uint32_t)sched_core_queued(d->sched, i);
    }
    sched_client_t *last = sched_core_last_client(d->sched, i);
    if (last) {
        session_t *o = sched_client_owner(last);
        cs->last_session_id = o && visible(o, admin, uid) ? o->id : 0;
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
    ss->weight = s->client ? sched_client_weight(s->client) : s->weight; /* reloads change it */
    ss->role = s->role;
    ss->submitted = s->submitted;
    ss->done = s->done;
    ss->held_bytes = s->held_bytes;
    ss->read_stopped = s->read_stopped != 0;
    if (s->client) {
        size_t ready = sched_client_ready(s->client);
        size_t running = sched_client_running(s->client);
        ss->ready = ready;
        ss->running = running;
        size_t device = sched_client_device(s->client);
        ss->device = device;
        ss->waiting =
            s->live.count > ready + running + device ? s->live.count - ready - running - device : 0;
        ss->core_ns = sched_client_core_ns(s->client, now);
    }
}

/* Device statuses, with per-session in-flight counts; arrays from one allocation each. */
typedef struct device_status {
    Nodus__V1__DeviceStatus *dev;
    Nodus__V1__DeviceStatus **dev_ptrs;
    Nodus__V1__SessionInFlight *per; /* ndev x nsess, used from the front of each row */
    Nodus__V1__SessionInFlight **per_ptrs;
} device_status_t;

static int fill_devices(daemon_t *d, size_t nsess, device_status_t *ds, int admin, uint32_t uid)
{
    size_t n = d->devices.n, rows = n * (nsess ? nsess : 1);
    if (n == 0) return 0;
    ds->dev = calloc(n, sizeof *ds->dev);
    ds->dev_ptrs = calloc(n, sizeof *ds->dev_ptrs);
    ds->per = calloc(rows, sizeof *ds->per);
    ds->per_ptrs = calloc(rows, sizeof *ds->per_ptrs);
    if (!ds->dev || !ds->dev_ptrs || !ds->per || !ds->per_ptrs) return NODUS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        Nodus__V1__DeviceStatus *st = &ds->dev[i];
        nodus__v1__device_status__init(st);
        st->info = d->devices.info_ptrs[i];
        st->in_flight = sched_device_in_flight(d->sched, i);
        st->max_in_flight = sched_device_max_in_flight(d->sched, i);
        st->completed = sched_device_completed(d->sched, i);
        st->cores_held = sched_device_cores_held(d->sched, i) != 0;
        Nodus__V1__SessionInFlight **row = &ds->per_ptrs[i * nsess];
        size_t k = 0;
        /* oldest session first, as the sessions table */
        for (session_t *s = d->sessions; s && k < nsess; s = s->next) {
            if (s->state == SESSION_CLOSED || !s->client || !visible(s, admin, uid)) continue;
            uint32_t f = sched_client_device_in_flight(s->client, i);
            if (f == 0) continue;
            Nodus__V1__SessionInFlight *p = &ds->per[i * nsess + k];
            nodus__v1__session_in_flight__init(p);
            p->session_id = s->id;
            p->in_flight = f;
            row[k++] = p;
        }
        for (size_t a = 0, b = k ? k - 1 : 0; a < b; a++, b--) {
            Nodus__V1__SessionInFlight *tmp = row[a];
            row[a] = row[b];
            row[b] = tmp;
        }
        st->n_sessions = k;
        st->sessions = row;
        ds->dev_ptrs[i] = st;
    }
    return 0;
}

void ctl_send_status(daemon_t *d, session_t *to)
{
    uint64_t now = uv_hrtime();
    size_t nsess = 0, nheld = 0, nhidden = 0;
    uint64_t segments = 0;
    int admin = admin_peer_allowed(&d->admin, to->uid, to->gid);
    for (session_t *s = d->sessions; s; s = s->next) {
        if (s->deps) segments += deps_segments(s->deps);
        if (s->state == SESSION_CLOSED) continue;
        if (visible(s, admin, to->uid))
            nsess++;
        else
            nhidden++;
    }
    size_t nusers = d->limits.n;
    Nodus__V1__UserStatus *users = calloc(nusers ? nusers : 1, sizeof *users);
    Nodus__V1__UserStatus **user_ptrs = calloc(nusers ? nusers : 1, sizeof *user_ptrs);

    Nodus__V1__CoreStatus *cores = calloc(d->ncores ? d->ncores : 1, sizeof *cores);
    Nodus__V1__CoreStatus **core_ptrs = calloc(d->ncores ? d->ncores : 1, sizeof *core_ptrs);
    held_label_t *labels = calloc(d->ncores ? d->ncores : 1, sizeof *labels);
    Nodus__V1__SessionStatus *sess = calloc(nsess ? nsess : 1, sizeof *sess);
    Nodus__V1__SessionStatus **sess_ptrs = calloc(nsess ? nsess : 1, sizeof *sess_ptrs);
    device_status_t ds = {0};
    if (!cores || !core_ptrs || !labels || !sess || !sess_ptrs || !users || !user_ptrs ||
        fill_devices(d, nsess, &ds, admin, to->uid) < 0) {
        session_send_error(to, NODUS_ENOMEM, "out of memory for status");
        goto out;
    }
    for (size_t i = 0; i < d->ncores; i++) {
        fill_core(d, i, &cores[i], &labels[nheld], admin, to->uid);
        if (sched_core_held_by(d->sched, i) >= 0) nheld++;
        core_ptrs[i] = &cores[i];
    }
    /* the list is newest first; report oldest first */
    size_t k = nsess;
    for (session_t *s = d->sessions; s; s = s->next) {
        if (s->state == SESSION_CLOSED || !visible(s, admin, to->uid)) continue;
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
    c.live_tasks = task_live_count();
    c.live_sessions = d->live_sessions;
    c.deps_segments = segments;
    c.held_bytes = d->held_bytes;
    c.sessions_refused = d->counters.sessions_refused;
    c.frames_refused = d->counters.frames_refused;

    size_t nu = 0;
    for (size_t i = 0; i < nusers; i++) {
        const limits_user_t *u = &d->limits.users[i];
        if (!admin && u->uid != to->uid) continue;
        Nodus__V1__UserStatus *us = &users[nu];
        nodus__v1__user_status__init(us);
        us->uid = u->uid;
        us->sessions = u->sessions;
        us->outstanding = u->outstanding;
        us->peak_outstanding = u->peak_outstanding;
        us->throttled = u->throttled;
        user_ptrs[nu++] = us;
    }

    sched_config_t sc;
    sched_get_config(d->sched, &sc);
    Nodus__V1__DaemonSettings set = NODUS__V1__DAEMON_SETTINGS__INIT;
    set.default_weight = sc.default_weight;
    set.max_weight = sc.max_weight;
    set.lookahead = sc.lookahead;
    set.reserve_after_ms = d->cfg.reserve_after_ms;
    set.drain_timeout_s = d->cfg.drain_timeout_s;
    set.log_level = (uint32_t)d->cfg.log_level;
    set.admin_group = d->cfg.admin_group;
    set.trace_recording = d->trace_ring != NULL;
    set.trace_events = d->trace_ring ? d->trace_ring->count : 0;
    set.trace_capacity = d->trace_ring ? d->trace_ring->capacity : d->cfg.trace_capacity;
    set.max_sessions_per_user = d->cfg.max_sessions_per_user;
    set.max_outstanding_tasks = d->cfg.max_outstanding_tasks;
    set.max_message_bytes = d->cfg.max_message_bytes;

    Nodus__V1__StatusReply r = NODUS__V1__STATUS_REPLY__INIT;
    r.draining = d->draining != 0;
    r.settings = &set;
    r.pid = (uint32_t)getpid();
    r.version = (char *)nodus_version();
    r.n_cores = d->ncores;
    r.cores = core_ptrs;
    r.n_sessions = nsess;
    r.sessions = sess_ptrs;
    r.counters = &c;
    r.n_devices = d->devices.n;
    r.devices = ds.dev_ptrs;
    r.hidden_sessions = (uint32_t)nhidden;
    r.n_users = nu;
    r.users = user_ptrs;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REPLY;
    m.status_reply = &r;
    int rc = session_send(to, &m);
    if (rc < 0) session_send_error(to, rc, "status reply too large");
out:
    free(cores);
    free(core_ptrs);
    free(labels);
    free(ds.dev);
    free(ds.dev_ptrs);
    free(ds.per);
    free(ds.per_ptrs);
    free(sess);
    free(sess_ptrs);
    free(users);
    free(user_ptrs);
}
