/*
 * Message validation: every field of every message is checked here before use.
 */
#include "validate.h"

#include <string.h>

#include "nodus_limits.h"
#include "nodus.h"

#define BAD(reason)                                                                                \
    do {                                                                                           \
        *why = (reason);                                                                           \
        return NODUS_EPROTO;                                                                       \
    } while (0)

static int name_ok(const char *s)
{
    /* protobuf-c gives "" for unset strings; bytes must be printable-ish and short */
    if (!s) return 1;
    size_t n = strnlen(s, NODUS_MAX_NAME + 1);
    if (n > NODUS_MAX_NAME) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

static int access_ok(const Nodus__V1__Access *a, const char **why)
{
    if (!a) BAD("null access");
    if (a->mode != NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN &&
        a->mode != NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT &&
        a->mode != NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT)
        BAD("access with unknown mode");
    if (a->len == 0) BAD("access of zero length");
    if (a->addr + a->len < a->addr) BAD("access range wraps around the address space");
    return 0;
}

static int task_ok(const Nodus__V1__TaskSpec *t, unsigned ncores, const char **why)
{
    if (!t) BAD("null task");
    if (t->id == 0) BAD("task id 0");
    if (t->n_accesses > NODUS_MAX_ACCESSES_PER_TASK) BAD("too many accesses in one task");
    for (size_t i = 0; i < t->n_accesses; i++)
        if (access_ok(t->accesses[i], why) < 0) return NODUS_EPROTO;
    if (t->ncores > NODUS_MAX_CORES || (ncores && t->ncores > ncores))
        BAD("task asks for more cores than the daemon owns");
    if (!name_ok(t->label)) BAD("task label too long or not text");
    if (t->impls & ~NODUS_IMPLS_KNOWN) BAD("task offers an unknown device kind");
    return 0;
}

static int kind_ok(Nodus__V1__DeviceKind k)
{
    return k == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU ||
           k == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA ||
           k == NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
}

static int ids_ok(size_t n, const uint64_t *ids, const char *what, const char **why)
{
    if (n == 0) BAD(what);
    if (n > NODUS_MAX_DONE_PER_MSG) BAD("too many ids in one message");
    for (size_t i = 0; i < n; i++)
        if (ids[i] == 0) BAD("task id 0");
    return 0;
}

int msg_validate(const Nodus__V1__Msg *m, unsigned ncores, const char **why)
{
    if (!m) BAD("undecodable message");
    switch (m->body_case) {
    case NODUS__V1__MSG__BODY_HELLO: {
        const Nodus__V1__Hello *h = m->hello;
        if (h->min_version == 0 || h->max_version < h->min_version)
            BAD("hello with an empty version range");
        if (h->role != NODUS__V1__ROLE__ROLE_CLIENT && h->role != NODUS__V1__ROLE__ROLE_CTL)
            BAD("hello with unknown role");
        if (!name_ok(h->job_name) || !name_ok(h->client_name))
            BAD("hello name too long or not text");
        if (h->weight > NODUS_MAX_WEIGHT) BAD("hello weight out of range");
        return 0;
    }
    case NODUS__V1__MSG__BODY_SUBMIT: {
        const Nodus__V1__Submit *s = m->submit;
        if (s->n_tasks == 0) BAD("empty submit");
        if (s->n_tasks > NODUS_MAX_TASKS_PER_SUBMIT) BAD("too many tasks in one submit");
        for (size_t i = 0; i < s->n_tasks; i++)
            if (task_ok(s->tasks[i], ncores, why) < 0) return NODUS_EPROTO;
        return 0;
    }
    case NODUS__V1__MSG__BODY_DONE:
        if (ids_ok(m->done->n_task_ids, m->done->task_ids, "empty done", why) < 0)
            return NODUS_EPROTO;
        if (m->done->n_cuda_events > m->done->n_task_ids)
            BAD("more cuda events than tasks in one done");
        for (size_t i = 0; i < m->done->n_cuda_events; i++) {
            const Nodus__V1__CudaEvent *e = m->done->cuda_events[i];
            if (!e || e->task_id == 0) BAD("cuda event for task id 0");
            if (e->ipc_handle.len != 0 && e->ipc_handle.len != NODUS_CUDA_IPC_HANDLE_SIZE)
                BAD("cuda event handle of the wrong size");
            if (e->pool_index >= NODUS_MAX_CUDA_EVENTS) BAD("cuda event pool index out of range");
        }
        return 0;
    case NODUS__V1__MSG__BODY_DEVICE_DONE:
        return ids_ok(m->device_done->n_task_ids, m->device_done->task_ids, "empty device done",
                      why);
    case NODUS__V1__MSG__BODY_WAIT:
        if (m->wait->len && m->wait->addr + m->wait->len < m->wait->addr)
            BAD("wait range wraps around the address space");
        return 0;
    case NODUS__V1__MSG__BODY_SET_WEIGHT:
        if (m->set_weight->weight == 0 || m->set_weight->weight > NODUS_MAX_WEIGHT)
            BAD("weight out of range");
        return 0;
    case NODUS__V1__MSG__BODY_GRANTS:
        if (m->grants->n_grants == 0 || m->grants->n_grants > NODUS_MAX_GRANTS_PER_MSG)
            BAD("grant count out of range");
        for (size_t i = 0; i < m->grants->n_grants; i++) {
            const Nodus__V1__Grant *g = m->grants->grants[i];
            if (!g || g->task_id == 0 || g->n_cores == 0 || g->n_cores > NODUS_MAX_CORES ||
                !kind_ok(g->kind) || g->device >= NODUS_MAX_DEVICES)
                BAD("malformed grant");
        }
        return 0;
    case NODUS__V1__MSG__BODY_WELCOME:
        if (m->welcome->n_cores == 0 || m->welcome->n_cores > NODUS_MAX_CORES)
            BAD("welcome with no cores");
        if (m->welcome->version < NODUS_PROTO_VERSION_MIN ||
            m->welcome->version > NODUS_PROTO_VERSION_MAX)
            BAD("welcome with an unsupported version");
        if (m->welcome->n_devices > NODUS_MAX_DEVICES) BAD("welcome with too many devices");
        for (size_t i = 0; i < m->welcome->n_devices; i++) {
            const Nodus__V1__DeviceInfo *dv = m->welcome->devices[i];
            if (!dv || dv->index != i || !kind_ok(dv->kind) ||
                dv->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU)
                BAD("welcome with a malformed device");
            if (dv->n_cores > NODUS_MAX_CORES || dv->slots == 0 ||
                dv->slots > NODUS_MAX_DEVICE_SLOTS)
                BAD("welcome with a malformed device");
        }
        return 0;
    case NODUS__V1__MSG__BODY_ERROR:
        if (m->error->message &&
            strnlen(m->error->message, NODUS_MAX_ERROR_TEXT + 1) > NODUS_MAX_ERROR_TEXT)
            BAD("error text too long");
        return 0;
    case NODUS__V1__MSG__BODY_KILL_REQUEST:
        if (m->kill_request->session_id == 0) BAD("kill of session 0");
        return 0;
    case NODUS__V1__MSG__BODY_TRACE_START:
        if (m->trace_start->capacity_events > NODUS_MAX_TRACE_EVENTS)
            BAD("trace capacity out of range");
        return 0;
    case NODUS__V1__MSG__BODY_TRACE_CHUNK:
        if (m->trace_chunk->data.len > NODUS_MAX_TRACE_CHUNK) BAD("trace chunk too large");
        if (m->trace_chunk->data.len > 0 && !m->trace_chunk->data.data)
            BAD("trace chunk without data");
        return 0;
    case NODUS__V1__MSG__BODY_CTL_REPLY:
        if (m->ctl_reply->code > 0) BAD("ctl reply with a positive code");
        if (m->ctl_reply->message &&
            strnlen(m->ctl_reply->message, NODUS_MAX_ERROR_TEXT + 1) > NODUS_MAX_ERROR_TEXT)
            BAD("ctl reply text too long");
        return 0;
    case NODUS__V1__MSG__BODY_STATUS_REPLY:
        if (m->status_reply->settings && m->status_reply->settings->log_level > 7)
            BAD("status reply with a bad log level");
        if (m->status_reply->settings && !name_ok(m->status_reply->settings->admin_group))
            BAD("status reply admin group too long or not text");
        return 0;
    case NODUS__V1__MSG__BODY_WAIT_DONE:
    case NODUS__V1__MSG__BODY_STATUS_REQUEST:
    case NODUS__V1__MSG__BODY_BYE:
    case NODUS__V1__MSG__BODY_DRAIN_REQUEST:
    case NODUS__V1__MSG__BODY_TRACE_STOP:
        return 0;
    default:
        BAD("message of unknown type");
    }
}

const char *msg_body_name(const Nodus__V1__Msg *m)
{
    if (!m) return "(none)";
    switch (m->body_case) {
    case NODUS__V1__MSG__BODY_HELLO:
        return "hello";
    case NODUS__V1__MSG__BODY_WELCOME:
        return "welcome";
    case NODUS__V1__MSG__BODY_SUBMIT:
        return "submit";
    case NODUS__V1__MSG__BODY_GRANTS:
        return "grants";
    case NODUS__V1__MSG__BODY_DONE:
        return "done";
    case NODUS__V1__MSG__BODY_WAIT:
        return "wait";
    case NODUS__V1__MSG__BODY_WAIT_DONE:
        return "wait_done";
    case NODUS__V1__MSG__BODY_SET_WEIGHT:
        return "set_weight";
    case NODUS__V1__MSG__BODY_STATUS_REQUEST:
        return "status_request";
    case NODUS__V1__MSG__BODY_STATUS_REPLY:
        return "status_reply";
    case NODUS__V1__MSG__BODY_ERROR:
        return "error";
    case NODUS__V1__MSG__BODY_BYE:
        return "bye";
    case NODUS__V1__MSG__BODY_DEVICE_DONE:
        return "device_done";
    case NODUS__V1__MSG__BODY_DRAIN_REQUEST:
        return "drain_request";
    case NODUS__V1__MSG__BODY_KILL_REQUEST:
        return "kill_request";
    case NODUS__V1__MSG__BODY_TRACE_START:
        return "trace_start";
    case NODUS__V1__MSG__BODY_TRACE_STOP:
        return "trace_stop";
    case NODUS__V1__MSG__BODY_TRACE_CHUNK:
        return "trace_chunk";
    case NODUS__V1__MSG__BODY_CTL_REPLY:
        return "ctl_reply";
    default:
        return "unknown";
    }
}

const char *device_kind_name(uint32_t kind)
{
    switch (kind) {
    case NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA:
        return "cuda";
    case NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL:
        return "opencl";
    case NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU:
        return "cpu";
    default:
        return "unknown";
    }
}
