/*
 * Session messages: the state machine of docs/protocol.md and the per-session task graph.
 *
 * A CLIENT session owns its tasks: one reference on each live task (listed in submission
 * order in `live` and by id in `tasks`) and on each pending virtual wait task (`waits_on`).
 * A task is live until it completes: a CPU task when its Done arrives, a device task when its
 * device work completes (session_device.c), whichever path, through session_complete_task().
 * The dependency engine calls on_ready() from inside deps_add()/deps_complete(); it is not
 * re-entrant, so on_ready() only queues: CPU tasks go to the scheduler, virtual wait tasks to
 * `vready`, which complete_ready_waits() drains once the deps call has returned.
 */
#include "array.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "limits.h"
#include "log.h"
#include "nodus.h"
#include "trace.h"
#include "trace_ring.h"
#include "validate.h"

/* ---- small containers ---- */

static void list_append(task_list_t *l, task_t *t)
{
    t->live_next = NULL;
    t->live_prev = l->tail;
    if (l->tail)
        l->tail->live_next = t;
    else
        l->head = t;
    l->tail = t;
    l->count++;
}

static void list_remove(task_list_t *l, task_t *t)
{
    if (t->live_prev)
        t->live_prev->live_next = t->live_next;
    else
        l->head = t->live_next;
    if (t->live_next)
        t->live_next->live_prev = t->live_prev;
    else
        l->tail = t->live_prev;
    t->live_prev = t->live_next = NULL;
    l->count--;
}

/* Drops the session's reference on every task of the list. */
static void list_unref_all(task_list_t *l)
{
    task_t *t = l->head;
    while (t) {
        task_t *next = t->live_next;
        t->live_prev = t->live_next = NULL;
        task_unref(t);
        t = next;
    }
    l->head = l->tail = NULL;
    l->count = 0;
}

/* TaskSpec.impls of a CPU-only task. */
#define SESSION_IMPL_CPU (1u << NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU)

const char *session_role_name(Nodus__V1__Role role)
{
    switch (role) {
    case NODUS__V1__ROLE__ROLE_CLIENT:
        return "client";
    case NODUS__V1__ROLE__ROLE_CTL:
        return "ctl";
    default:
        return "none";
    }
}

/* ---- replies ---- */

static void send_wait_done(session_t *s, uint64_t token)
{
    Nodus__V1__WaitDone w = NODUS__V1__WAIT_DONE__INIT;
    w.token = token;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WAIT_DONE;
    m.wait_done = &w;
    (void)session_send(s, &m);
}

/* ---- trace hooks (only while d->trace_ring is set) ---- */

/* The session's index in the ring's session table, registered on its first event. */
static uint32_t trace_index(session_t *s, trace_ring_t *r)
{
    if (s->trace_gen != r->gen) {
        s->trace_idx = trace_ring_session(r, s->id, s->uid, s->pid, s->job, s->client_name);
        s->trace_gen = r->gen;
    }
    return s->trace_idx;
}

static void trace_record(session_t *s, trace_kind_t kind, uint64_t task, uint32_t where,
                         uint32_t slot)
{
    trace_ring_t *r = s->d->trace_ring;
    trace_rec_t rec = {.ts_ns = s->d->now_ns,
                       .task = task,
                       .session = trace_index(s, r),
                       .where = where,
                       .slot = (uint8_t)slot,
                       .kind = (uint8_t)kind};
    trace_ring_add(r, &rec);
}

/* A grant on core index `core`; the label is interned once per grant. */
static void trace_record_grant(session_t *s, const task_t *t, uint32_t core)
{
    trace_ring_t *r = s->d->trace_ring;
    int dev = t->grant_kind != NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU;
    trace_rec_t rec = {.ts_ns = s->d->now_ns,
                       .task = t->id,
                       .session = trace_index(s, r),
                       .where = core,
                       .label = trace_ring_intern(r, t->label),
                       .device = (uint16_t)(dev ? t->device + 1 : 0),
                       .slot = (uint8_t)(dev ? t->slot : 0),
                       .kind = TRACE_GRANT};
    trace_ring_add(r, &rec);
}

/* t completed: an edge to each successor that was waiting on it (virtual waits left out). */
static void trace_record_edges(session_t *s, const task_t *t)
{
    trace_ring_t *r = s->d->trace_ring;
    for (uint32_t i = 0; i < t->nsucc; i++) {
        if (t->succ[i]->kind != TASK_KIND_CPU) continue;
        trace_rec_t rec = {.ts_ns = s->d->now_ns,
                           .task = t->id,
                           .other = t->succ[i]->id,
                           .session = trace_index(s, r),
                           .kind = TRACE_EDGE};
        trace_ring_add(r, &rec);
    }
}

/* ---- dependency engine glue ---- */

static void on_ready(task_t *t, void *ctx)
{
    session_t *s = ctx;
    if (t->kind == TASK_KIND_CPU) {
        int rc = sched_push_ready(s->d->sched, s->client, t, s->d->now_ns);
        /* a task the scheduler does not hold would never run: drop the session after the call */
        if (rc < 0 && s->ready_error == 0) s->ready_error = rc;
        daemon_mark_dirty(s->d);
        return;
    }
    if (array_reserve((void **)&s->vready, &s->vready_cap, s->vready_len + 1, sizeof *s->vready) <
        0) {
        /* cannot happen often; remembered as a failure to drop the session after the call */
        s->out_of_memory = 1;
        return;
    }
    s->vready[s->vready_len++] = t;
}

/*
 * Completes virtual wait tasks that became ready, answering their Waits. Completing one may
 * make the next ready (it is queued again by on_ready): loop until none is left.
 */
static void complete_ready_waits(session_t *s)
{
    for (size_t i = 0; i < s->vready_len; i++) {
        task_t *v = s->vready[i];
        deps_complete(s->deps, v); /* may append to vready */
        send_wait_done(s, v->wait_token);
        list_remove(&s->waits_on, v);
        task_unref(v);
    }
    s->vready_len = 0;
}

void session_answer_waits(session_t *s)
{
    uint64_t oldest_live = s->live.head ? s->live.head->id : UINT64_MAX;
    while (s->wait_all_len > 0) {
        session_wait_all_t *w = &s->wait_all[s->wait_all_head];
        if (w->last_id >= oldest_live) break;
        send_wait_done(s, w->token);
        s->wait_all_head++;
        s->wait_all_len--;
    }
    if (s->wait_all_len == 0) s->wait_all_head = 0;
}

/* ---- handlers ---- */

static void on_hello(session_t *s, const Nodus__V1__Hello *h)
{
    daemon_t *d = s->d;
    uint32_t lo =
        h->min_version > NODUS_PROTO_VERSION_MIN ? h->min_version : NODUS_PROTO_VERSION_MIN;
    uint32_t hi =
        h->max_version < NODUS_PROTO_VERSION_MAX ? h->max_version : NODUS_PROTO_VERSION_MAX;
    if (hi < lo) {
        char why[128];
        snprintf(why, sizeof why, "no common protocol version (peer %u-%u, daemon %u-%u)",
                 h->min_version, h->max_version, NODUS_PROTO_VERSION_MIN, NODUS_PROTO_VERSION_MAX);
        session_fail(s, NODUS_EVERSION, why);
        return;
    }
    /* nodusctl may still look (and stop a trace) while the daemon drains */
    if (d->stopping || (d->draining && h->role == NODUS__V1__ROLE__ROLE_CLIENT)) {
        session_send_error(s, NODUS_EDRAINING, NULL);
        session_close(s, "daemon draining", 1);
        return;
    }
    snprintf(s->client_name, sizeof s->client_name, "%s", h->client_name ? h->client_name : "");
    s->version = hi;
    s->role = h->role;

    if (h->role == NODUS__V1__ROLE__ROLE_CLIENT) {
        int lrc = limits_session_open(&d->limits, s->uid);
        if (lrc == NODUS_ELIMIT) {
            limits_user_t *u = limits_find(&d->limits, s->uid);
            LOG(LOG_NOTICE, "session", s->id,
                "refused: uid=%u pid=%u has %u client sessions, limits.max_sessions_per_user",
                s->uid, s->pid, u ? u->sessions : 0);
            d->counters.sessions_refused++;
            char why[96];
            snprintf(why, sizeof why,
                     "too many sessions for this user (limits.max_sessions_per_user = %u)",
                     d->limits.max_sessions);
            session_send_error(s, NODUS_ELIMIT, why);
            session_close(s, "session limit", 1);
            return;
        }
        if (lrc < 0) {
            session_fail(s, NODUS_ENOMEM, "out of memory for a new session");
            return;
        }
        s->limits_counted = 1;
        if (h->job_name && h->job_name[0])
            snprintf(s->job, sizeof s->job, "%s", h->job_name);
        else if (s->client_name[0])
            snprintf(s->job, sizeof s->job, "%s", s->client_name);
        else
            snprintf(s->job, sizeof s->job, "job-%u", s->pid);
        s->client = sched_client_add(d->sched, s->uid, s->job, h->weight, s);
        s->deps = deps_create(on_ready, s);
        if (!s->client || !s->deps) {
            session_fail(s, NODUS_ENOMEM, "out of memory for a new session");
            return;
        }
        s->weight = sched_client_weight(s->client);
        s->state = SESSION_CLIENT;
        d->nclients++;
    } else {
        s->state = SESSION_CTL;
    }

    Nodus__V1__Welcome w = NODUS__V1__WELCOME__INIT;
    w.version = s->version;
    w.session_id = s->id;
    w.n_cores = d->ncores;
    w.cores = d->cpus;
    w.weight = s->weight;
    w.max_frame = (uint32_t)s->reader.max_frame;
    w.max_tasks_per_submit = NODUS_MAX_TASKS_PER_SUBMIT;
    w.n_devices = d->devices.n;
    w.devices = d->devices.info_ptrs;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WELCOME;
    m.welcome = &w;
    if (session_send(s, &m) < 0) {
        session_fail(s, NODUS_ENOMEM, "cannot encode welcome");
        return;
    }
    LOG(LOG_INFO, "session", s->id, "open uid=%u pid=%u job=%s client=%s role=%s weight=%u", s->uid,
        s->pid, s->job, s->client_name, session_role_name(s->role), s->weight);
}

static deps_mode_t deps_mode_of(Nodus__V1__AccessMode mode)
{
    switch (mode) {
    case NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN:
        return DEPS_IN;
    case NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT:
        return DEPS_OUT;
    default:
        return DEPS_INOUT;
    }
}

size_t session_accept_tasks(session_t *s, const Nodus__V1__Submit *sub, size_t from, uint64_t quota)
{
    daemon_t *d = s->d;
    uint64_t room = limits_task_room(&d->limits, s->uid);
    if (quota < room) room = quota;
    size_t end = sub->n_tasks;
    if (room < end - from) end = from + (size_t)room;
    size_t i;
    for (i = from; i < end; i++) {
        const Nodus__V1__TaskSpec *spec = sub->tasks[i];
        if (spec->id != s->last_id + 1) {
            session_fail(s, NODUS_EPROTO, "task id out of sequence");
            return SIZE_MAX;
        }
        daemon_scratch_t *sc = &d->scratch;
        if (array_reserve((void **)&sc->accesses, &sc->accesses_cap, spec->n_accesses + 1,
                          sizeof *sc->accesses) < 0) {
            session_fail(s, NODUS_ENOMEM, "out of memory for a task");
            return SIZE_MAX;
        }
        for (size_t k = 0; k < spec->n_accesses; k++) {
            sc->accesses[k].addr = spec->accesses[k]->addr;
            sc->accesses[k].len = spec->accesses[k]->len;
            sc->accesses[k].mode = deps_mode_of(spec->accesses[k]->mode);
        }
        /* the kinds offered that this node has; none at all is an error of the client's */
        uint32_t impls = (spec->impls ? spec->impls : SESSION_IMPL_CPU) & sched_kinds(d->sched);
        if (impls == 0) {
            session_fail(s, NODUS_ENOTSUP, "no device for this task");
            return SIZE_MAX;
        }
        task_t *t = task_create(spec->id, s);
        if (!t || taskmap_insert(&s->tasks, t->id, t) < 0) {
            if (t) task_unref(t);
            session_fail(s, NODUS_ENOMEM, "out of memory for a task");
            return SIZE_MAX;
        }
        t->kind = TASK_KIND_CPU;
        t->impls = impls;
        t->priority = spec->priority;
        t->ncores = spec->ncores ? spec->ncores : 1;
        snprintf(t->label, sizeof t->label, "%s", spec->label ? spec->label : "");
        list_append(&s->live, t);
        /* counted before deps_add: the task may complete (and be uncounted) from here on */
        limits_tasks_accepted(&d->limits, s->uid, 1);
        if (deps_add(s->deps, t, sc->accesses, spec->n_accesses) < 0) {
            taskmap_remove(&s->tasks, t->id);
            list_remove(&s->live, t);
            limits_tasks_finished(&d->limits, s->uid, 1);
            task_unref(t);
            session_fail(s, NODUS_ENOMEM, "out of memory in the dependency engine");
            return SIZE_MAX;
        }
        s->last_id = spec->id;
        s->submitted++;
        d->counters.tasks_submitted++;
    }
    complete_ready_waits(s);
    return i;
}

/* Submit: accepted as far as the user's task limit allows; the rest is held (back-pressure). */
static int on_submit(session_t *s, Nodus__V1__Msg *m, size_t frame_len)
{
    size_t next = session_accept_tasks(s, m->submit, 0, UINT64_MAX);
    if (next == SIZE_MAX || next == m->submit->n_tasks) return 0;
    session_hold(s, m, next, frame_len);
    return 1;
}

void session_complete_task(session_t *s, task_t *t)
{
    daemon_t *d = s->d;
    if (t->state == TASK_DEVICE) {
        /* callers checked that it is in flight on a device for this session */
        (void)sched_device_complete(d->sched, s->client, t, d->now_ns);
        if (d->trace) trace_device(d->trace, d->now_ns, s->id, t->id, t->device);
        if (d->trace_ring) trace_record(s, TRACE_DEVICE, t->id, t->device, t->slot);
    }
    if (d->trace_ring) trace_record_edges(s, t);
    deps_complete(s->deps, t);
    taskmap_remove(&s->tasks, t->id);
    list_remove(&s->live, t);
    limits_tasks_finished(&d->limits, s->uid, 1);
    s->done++;
    d->counters.tasks_done++;
    task_unref(t);
    complete_ready_waits(s);
}

static void on_done(session_t *s, const Nodus__V1__Done *done)
{
    daemon_t *d = s->d;
    size_t ncuda = 0;
    for (size_t i = 0; i < done->n_task_ids; i++) {
        task_t *t = taskmap_find(&s->tasks, done->task_ids[i]);
        if (!t || t->state != TASK_RUNNING) {
            session_fail(s, NODUS_EPROTO, "done for a task that is not running");
            return;
        }
        if (d->trace)
            for (uint32_t k = 0; k < t->ncores; k++)
                trace_done(d->trace, d->now_ns, s->id, t->id,
                           sched_core_cpu(d->sched, t->cores[k]));
        if (d->trace_ring)
            for (uint32_t k = 0; k < t->ncores; k++)
                trace_record(s, TRACE_DONE, t->id, t->cores[k], 0);
        if (sched_task_finished(d->sched, s->client, t, d->now_ns) < 0) {
            session_fail(s, NODUS_EPROTO, "done for a task the scheduler does not run");
            return;
        }
        if (t->state == TASK_DEVICE) {
            /* its core is free; it completes when its device work does */
            if (t->grant_kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA) {
                t->awaiting_event = 1;
                ncuda++;
            }
            continue;
        }
        session_complete_task(s, t);
    }
    if (ncuda > 0 || done->n_cuda_events > 0) {
        session_done_cuda(s, done);
        if (s->state == SESSION_CLOSED) return;
    }
    daemon_mark_dirty(d);
    session_answer_waits(s);
}

void session_on_wait(session_t *s, const Nodus__V1__Wait *w)
{
    if (w->len == 0) {
        if (s->live.count == 0) {
            send_wait_done(s, w->token);
            return;
        }
        size_t end = s->wait_all_head + s->wait_all_len;
        if (end == s->wait_all_cap && s->wait_all_head > 0) {
            memmove(s->wait_all, s->wait_all + s->wait_all_head,
                    s->wait_all_len * sizeof *s->wait_all);
            s->wait_all_head = 0;
            end = s->wait_all_len;
        }
        if (array_reserve((void **)&s->wait_all, &s->wait_all_cap, end + 1, sizeof *s->wait_all) <
            0) {
            session_fail(s, NODUS_ENOMEM, "out of memory for a wait");
            return;
        }
        s->wait_all[end].token = w->token;
        s->wait_all[end].last_id = s->last_id;
        s->wait_all_len++;
        return;
    }
    task_t *v = task_create(0, s);
    if (!v) {
        session_fail(s, NODUS_ENOMEM, "out of memory for a wait");
        return;
    }
    v->kind = TASK_KIND_WAIT;
    v->wait_token = w->token;
    list_append(&s->waits_on, v);
    deps_access_t acc = {.addr = w->addr, .len = w->len, .mode = DEPS_INOUT};
    if (deps_add(s->deps, v, &acc, 1) < 0) {
        list_remove(&s->waits_on, v);
        task_unref(v);
        session_fail(s, NODUS_ENOMEM, "out of memory in the dependency engine");
        return;
    }
    complete_ready_waits(s);
}

static void on_set_weight(session_t *s, const Nodus__V1__SetWeight *sw)
{
    s->weight = sched_client_set_weight(s->d->sched, s->client, sw->weight, s->d->now_ns);
    daemon_mark_dirty(s->d);
    LOG(LOG_DEBUG, "session", s->id, "weight %u (asked %u)", s->weight, sw->weight);
}

static void fail_not_allowed(session_t *s, const Nodus__V1__Msg *m)
{
    char why[96];
    const char *where = s->state == SESSION_AWAIT_HELLO ? "before hello"
                        : s->state == SESSION_CTL       ? "on a control connection"
                                                        : "from a client";
    snprintf(why, sizeof why, "%s %s", msg_body_name(m), where);
    session_fail(s, NODUS_EPROTO, why);
}

int session_handle_msg(session_t *s, Nodus__V1__Msg *m, size_t frame_len)
{
    int kept = 0;
    if (s->state == SESSION_CLIENT && session_hold_needed(s, m)) {
        session_hold(s, m, 0, frame_len);
        return 1;
    }
    switch (s->state) {
    case SESSION_AWAIT_HELLO:
        if (m->body_case == NODUS__V1__MSG__BODY_HELLO)
            on_hello(s, m->hello);
        else
            fail_not_allowed(s, m);
        break;
    case SESSION_CLIENT:
        switch (m->body_case) {
        case NODUS__V1__MSG__BODY_SUBMIT:
            kept = on_submit(s, m, frame_len);
            break;
        case NODUS__V1__MSG__BODY_DONE:
            on_done(s, m->done);
            break;
        case NODUS__V1__MSG__BODY_DEVICE_DONE:
            session_on_device_done(s, m->device_done);
            break;
        case NODUS__V1__MSG__BODY_WAIT:
            session_on_wait(s, m->wait);
            break;
        case NODUS__V1__MSG__BODY_SET_WEIGHT:
            on_set_weight(s, m->set_weight);
            break;
        case NODUS__V1__MSG__BODY_STATUS_REQUEST:
            ctl_send_status(s->d, s);
            break;
        case NODUS__V1__MSG__BODY_BYE:
            session_close(s, "bye", 1);
            break;
        default:
            fail_not_allowed(s, m);
            break;
        }
        break;
    case SESSION_CTL:
        if (s->trace_export && m->body_case != NODUS__V1__MSG__BODY_BYE) {
            session_fail(s, NODUS_EPROTO, "request while a trace is being sent");
            break;
        }
        switch (m->body_case) {
        case NODUS__V1__MSG__BODY_STATUS_REQUEST:
            ctl_send_status(s->d, s);
            break;
        case NODUS__V1__MSG__BODY_DRAIN_REQUEST:
        case NODUS__V1__MSG__BODY_KILL_REQUEST:
        case NODUS__V1__MSG__BODY_TRACE_START:
        case NODUS__V1__MSG__BODY_TRACE_STOP:
            ctl_admin_request(s, m);
            break;
        case NODUS__V1__MSG__BODY_BYE:
            session_close(s, "bye", 1);
            break;
        default:
            fail_not_allowed(s, m);
            break;
        }
        break;
    case SESSION_CLOSED:
        break;
    }
    session_check_deferred(s);
    return kept;
}

void session_check_deferred(session_t *s)
{
    if (s->ready_error && s->state != SESSION_CLOSED) {
        char why[96];
        snprintf(why, sizeof why, "scheduler refused a ready task: %s",
                 nodus_strerror(s->ready_error));
        session_fail(s, s->ready_error, why);
    }
    if (s->out_of_memory && s->state != SESSION_CLOSED)
        session_fail(s, NODUS_ENOMEM, "out of memory");
}

/* ---- teardown ---- */

void session_release_work(session_t *s)
{
    daemon_t *d = s->d;
    ctl_trace_release(s);
    /* its tasks leave the cores without a Done: the trace must know */
    if (d->trace_ring && s->client && s->trace_gen == d->trace_ring->gen) {
        d->now_ns = uv_hrtime();
        trace_record(s, TRACE_CLOSE, 0, 0, 0);
    }
    session_device_release(s); /* CUDA events: the tracker lets go first */
    if (s->client) {
        /* the cores (and device places) come back at once; the tasks stay alive until unref'd
         * below */
        sched_client_remove(d->sched, s->client, uv_hrtime());
        s->client = NULL;
    }
    if (s->deps) {
        deps_destroy(s->deps);
        s->deps = NULL;
    }
    s->vready_len = 0;
    s->ngrants = 0;
    session_hold_release(s);
    limits_tasks_finished(&d->limits, s->uid, s->live.count);
    if (s->limits_counted) {
        limits_session_close(&d->limits, s->uid);
        s->limits_counted = 0;
    }
    list_unref_all(&s->live);
    list_unref_all(&s->waits_on);
    taskmap_free(&s->tasks);
    s->wait_all_len = s->wait_all_head = 0;
}

void session_free_work(session_t *s)
{
    free(s->vready);
    free(s->wait_all);
    free(s->grants);
    free(s->cuda_events);
    free(s->cuda_retired);
    s->cuda_events = s->cuda_retired = NULL;
    s->vready = NULL;
    s->wait_all = NULL;
    s->grants = NULL;
}

/* ---- grants ---- */

void session_add_grant(session_t *s, task_t *t)
{
    if (s->out_of_memory) return;
    if (array_reserve((void **)&s->grants, &s->grants_cap, s->ngrants + 1, sizeof *s->grants) < 0) {
        s->out_of_memory = 1;
        return;
    }
    s->grants[s->ngrants++] = t;
}

/* Wire size of one Grant inside Grants, an upper bound (tags, lengths, varints). */
static size_t grant_size_bound(const task_t *t)
{
    return 2 + 5 + 1 + 10 + 1 + 5 + (size_t)t->ncores * 5 + 3 * (1 + 5);
}

/* Encodes grants[from, to) as one Grants message. */
static int emit_one(session_t *s, size_t from, size_t to)
{
    daemon_t *d = s->d;
    daemon_scratch_t *sc = &d->scratch;
    size_t n = to - from, ncpus = 0;
    for (size_t i = from; i < to; i++)
        ncpus += s->grants[i]->ncores;
    if (array_reserve((void **)&sc->pb_grants, &sc->pb_grants_cap, n, sizeof *sc->pb_grants) < 0 ||
        array_reserve((void **)&sc->pb_grant_ptrs, &sc->pb_grant_ptrs_cap, n,
                      sizeof *sc->pb_grant_ptrs) < 0)
        return NODUS_ENOMEM;
    if (array_reserve((void **)&sc->pb_cpus, &sc->pb_cpus_cap, ncpus, sizeof *sc->pb_cpus) < 0)
        return NODUS_ENOMEM;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        task_t *t = s->grants[from + i];
        Nodus__V1__Grant *g = &sc->pb_grants[i];
        nodus__v1__grant__init(g);
        g->task_id = t->id;
        g->kind = (Nodus__V1__DeviceKind)t->grant_kind;
        g->device = t->device;
        g->slot = t->slot;
        g->n_cores = t->ncores;
        g->cores = &sc->pb_cpus[c];
        for (uint32_t k = 0; k < t->ncores; k++) {
            uint32_t cpu = sched_core_cpu(d->sched, t->cores[k]);
            sc->pb_cpus[c++] = cpu;
            if (d->trace) trace_grant(d->trace, d->now_ns, s->id, t->id, cpu);
            if (d->trace_ring) trace_record_grant(s, t, t->cores[k]);
        }
        sc->pb_grant_ptrs[i] = g;
    }
    Nodus__V1__Grants gs = NODUS__V1__GRANTS__INIT;
    gs.n_grants = n;
    gs.grants = sc->pb_grant_ptrs;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_GRANTS;
    m.grants = &gs;
    return session_send(s, &m);
}

void session_emit_grants(session_t *s)
{
    int rc = 0;
    if (s->state == SESSION_CLOSED) {
        s->ngrants = 0;
        return;
    }
    size_t from = 0, bytes = 0;
    for (size_t i = 0; i < s->ngrants && rc == 0; i++) {
        size_t sz = grant_size_bound(s->grants[i]);
        if (i > from && (i - from == NODUS_MAX_GRANTS_PER_MSG || bytes + sz > NODUS_MAX_FRAME)) {
            rc = emit_one(s, from, i);
            from = i;
            bytes = 0;
        }
        bytes += sz;
    }
    if (rc == 0 && from < s->ngrants) rc = emit_one(s, from, s->ngrants);
    s->ngrants = 0;
    if (rc < 0 || s->out_of_memory) session_fail(s, NODUS_ENOMEM, "cannot send grants");
}
