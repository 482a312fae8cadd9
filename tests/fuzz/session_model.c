/*
 * The client-session model of the fuzz harness (session_model.h): sequential semantics of the
 * task flow, kept by brute force (every pair of tasks compared) since an input holds at most a
 * few hundred tasks. It is an oracle, so it is written to be obviously right, not fast.
 */
#include "session_model.h"

#include <stdlib.h>
#include <string.h>

#include "nodus_limits.h"
#include "validate.h"

/* Tasks followed per session; past this the model turns off (keeps each input fast). */
#define MODEL_MAX_TASKS 4096u

void model_init(session_model_t *m, unsigned ncores)
{
    memset(m, 0, sizeof *m);
    m->ncores = ncores;
    frame_reader_init(&m->sent, NODUS_MAX_FRAME);
}

void model_free(session_model_t *m)
{
    for (size_t i = 0; i < m->ntasks; i++)
        free(m->tasks[i].acc);
    free(m->tasks);
    free(m->waits);
    frame_reader_free(&m->sent);
    memset(m, 0, sizeof *m);
}

/* The task's work is complete: its Done, and for an OpenCL grant its DeviceDone, were sent. */
static int complete(const model_task_t *t)
{
    return t->done && (!t->granted_opencl || t->device_done);
}

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen; /* validation rules out wrap-around */
}

static int conflict(const model_task_t *x, const model_task_t *y)
{
    for (uint32_t i = 0; i < x->nacc; i++)
        for (uint32_t k = 0; k < y->nacc; k++)
            if (!(x->acc[i].in && y->acc[k].in) &&
                overlap(x->acc[i].addr, x->acc[i].len, y->acc[k].addr, y->acc[k].len))
                return 1;
    return 0;
}

static int touches(const model_task_t *t, uint64_t addr, uint64_t len)
{
    for (uint32_t i = 0; i < t->nacc; i++)
        if (overlap(t->acc[i].addr, t->acc[i].len, addr, len)) return 1;
    return 0;
}

static void on_submit(session_model_t *m, const Nodus__V1__Submit *s)
{
    for (size_t i = 0; i < s->n_tasks && !m->off; i++) {
        const Nodus__V1__TaskSpec *spec = s->tasks[i];
        if (spec->id != m->ntasks + 1 || m->ntasks >= MODEL_MAX_TASKS) {
            m->off = 1; /* out of sequence: the daemon drops the session */
            return;
        }
        if (m->ntasks == m->tasks_cap) {
            size_t cap = m->tasks_cap ? m->tasks_cap * 2 : 64;
            model_task_t *nt = realloc(m->tasks, cap * sizeof *nt);
            if (!nt) abort();
            m->tasks = nt;
            m->tasks_cap = cap;
        }
        model_task_t *t = &m->tasks[m->ntasks++];
        memset(t, 0, sizeof *t);
        t->nacc = (uint32_t)spec->n_accesses;
        t->impls = spec->impls;
        t->acc = calloc(spec->n_accesses ? spec->n_accesses : 1, sizeof *t->acc);
        if (!t->acc) abort();
        for (size_t k = 0; k < spec->n_accesses; k++) {
            t->acc[k].addr = spec->accesses[k]->addr;
            t->acc[k].len = spec->accesses[k]->len;
            t->acc[k].in = spec->accesses[k]->mode == NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN;
        }
    }
}

static void on_done(session_model_t *m, const Nodus__V1__Done *d)
{
    for (size_t i = 0; i < d->n_task_ids; i++) {
        uint64_t id = d->task_ids[i];
        if (id == 0 || id > m->ntasks) {
            m->off = 1; /* an unknown task: the daemon drops the session */
            return;
        }
        m->tasks[id - 1].done = 1;
    }
}

static void on_device_done(session_model_t *m, const Nodus__V1__DeviceDone *d)
{
    for (size_t i = 0; i < d->n_task_ids; i++) {
        uint64_t id = d->task_ids[i];
        if (id == 0 || id > m->ntasks) {
            m->off = 1; /* an unknown task: the daemon drops the session */
            return;
        }
        m->tasks[id - 1].device_done = 1;
    }
}

static void on_wait(session_model_t *m, const Nodus__V1__Wait *w)
{
    for (size_t i = 0; i < m->nwaits; i++)
        if (m->waits[i].token == w->token) m->tokens_reused = 1;
    if (m->nwaits == m->waits_cap) {
        size_t cap = m->waits_cap ? m->waits_cap * 2 : 16;
        model_wait_t *nw = realloc(m->waits, cap * sizeof *nw);
        if (!nw) abort();
        m->waits = nw;
        m->waits_cap = cap;
    }
    model_wait_t *mw = &m->waits[m->nwaits++];
    mw->token = w->token;
    mw->last_id = m->ntasks;
    mw->addr = w->addr;
    mw->len = w->len;
    mw->answered = 0;
}

static void on_sent_msg(session_model_t *m, const Nodus__V1__Msg *msg)
{
    const char *why;
    if (!msg || msg_validate(msg, m->ncores, &why) < 0) {
        m->off = 1; /* the daemon drops the session */
        return;
    }
    if (!m->client) {
        const Nodus__V1__Hello *h = msg->hello;
        if (msg->body_case == NODUS__V1__MSG__BODY_HELLO &&
            h->role == NODUS__V1__ROLE__ROLE_CLIENT && h->min_version <= NODUS_PROTO_VERSION_MAX &&
            h->max_version >= NODUS_PROTO_VERSION_MIN)
            m->client = 1;
        else
            m->off = 1;
        return;
    }
    switch (msg->body_case) {
    case NODUS__V1__MSG__BODY_SUBMIT:
        on_submit(m, msg->submit);
        break;
    case NODUS__V1__MSG__BODY_DONE:
        on_done(m, msg->done);
        break;
    case NODUS__V1__MSG__BODY_DEVICE_DONE:
        on_device_done(m, msg->device_done);
        break;
    case NODUS__V1__MSG__BODY_WAIT:
        on_wait(m, msg->wait);
        break;
    case NODUS__V1__MSG__BODY_SET_WEIGHT:
    case NODUS__V1__MSG__BODY_STATUS_REQUEST:
        break;
    default:
        m->off = 1; /* Bye, a second Hello, a violation: not followed */
        break;
    }
}

void model_sent(session_model_t *m, const uint8_t *p, size_t n)
{
    /* framing is followed even with the model off: model_mid_frame() needs it */
    if (m->bad_frame) return;
    if (frame_reader_feed(&m->sent, p, n) < 0) abort();
    for (;;) {
        const uint8_t *payload;
        size_t len;
        int rc = frame_reader_next(&m->sent, &payload, &len);
        if (rc == 0) break;
        if (rc < 0) {
            m->bad_frame = m->off = 1;
            break;
        }
        if (m->off) continue;
        Nodus__V1__Msg *msg = frame_decode(payload, len);
        on_sent_msg(m, msg);
        if (msg) nodus__v1__msg__free_unpacked(msg, NULL);
    }
}

int model_mid_frame(const session_model_t *m)
{
    return !m->bad_frame && m->sent.len > 0;
}

const char *model_on_grant(session_model_t *m, uint64_t id, uint32_t kind)
{
    if (m->off || !m->client) return NULL;
    if (id == 0 || id > m->ntasks) return "grant for a task never submitted";
    model_task_t *t = &m->tasks[id - 1];
    if (t->done) return "grant for a task already done";
    uint32_t offered = t->impls ? t->impls : 1u << NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU;
    if (kind > NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL || !(offered & (1u << kind)))
        return "grant on an implementation the task does not offer";
    t->granted_opencl = kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
    for (uint64_t j = 0; j + 1 < id; j++)
        if (!complete(&m->tasks[j]) && conflict(&m->tasks[j], t))
            return "grant before an earlier conflicting task completed";
    return NULL;
}

const char *model_on_wait_done(session_model_t *m, uint64_t token)
{
    if (m->off || !m->client || m->tokens_reused) return NULL;
    model_wait_t *w = NULL;
    for (size_t i = 0; i < m->nwaits && !w; i++)
        if (m->waits[i].token == token) w = &m->waits[i];
    if (!w) return "wait_done for a token never sent";
    if (w->answered) return "wait_done twice for one wait";
    w->answered = 1;
    for (uint64_t j = 0; j < w->last_id; j++) {
        const model_task_t *t = &m->tasks[j];
        if (!complete(t) && (w->len == 0 || touches(t, w->addr, w->len)))
            return "wait answered before a task it waits for completed";
    }
    return NULL;
}

const char *model_check_quiescent(const session_model_t *m)
{
    if (m->off || !m->client) return NULL;
    /* an unfinished frame swallows whatever follows it, Dones included: nothing to expect */
    if (model_mid_frame(m)) return NULL;
    for (size_t j = 0; j < m->ntasks; j++)
        if (!complete(&m->tasks[j]))
            return "a task never completed although every grant was answered";
    if (!m->tokens_reused)
        for (size_t i = 0; i < m->nwaits; i++)
            if (!m->waits[i].answered) return "a wait never answered after all tasks completed";
    return NULL;
}
