/*
 * The status command and its two printers. Both printers take the reply as nodusd sent it; a
 * reply without counters (an older or partial daemon) prints zeros rather than failing.
 */
#include "validate.h"
#include "ctl_status.h"

#include <inttypes.h>

#include "ctl_table.h"
#include "json_out.h"
#include "nodus.h"

static const Nodus__V1__DaemonCounters no_counters = NODUS__V1__DAEMON_COUNTERS__INIT;

static const Nodus__V1__DaemonCounters *counters_of(const Nodus__V1__StatusReply *r)
{
    return r->counters ? r->counters : &no_counters;
}

/* A core busy with no session is held by a CPU device (its label says which). */
static int core_held(const Nodus__V1__CoreStatus *c)
{
    return c->busy && c->session_id == 0;
}

static const char *role_name(Nodus__V1__Role role)
{
    switch (role) {
    case NODUS__V1__ROLE__ROLE_CLIENT:
        return "client";
    case NODUS__V1__ROLE__ROLE_CTL:
        return "ctl";
    default:
        return "unknown";
    }
}

/* "3d 04:05:06" or "04:05:06". */
void status_format_uptime(uint64_t ns, char *buf, size_t len)
{
    uint64_t s = ns / 1000000000u;
    uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d)
        snprintf(buf, len, "%" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, d, h, m, s % 60);
    else
        snprintf(buf, len, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, h, m, s % 60);
}

static void print_cores(const Nodus__V1__StatusReply *r, FILE *out)
{
    static const char *const headers[] = {"CPU",   "STATE",  "SESSION", "TASK",
                                          "LABEL", "QUEUED", "LAST"};
    ctl_table_t *t = table_create(7, headers, "rlrrlrr");
    if (!t) return;
    for (size_t i = 0; i < r->n_cores; i++) {
        const Nodus__V1__CoreStatus *c = r->cores[i];
        table_cell(t, "%" PRIu32, c->cpu);
        table_cell(t, "%s", core_held(c) ? "held" : c->busy ? "busy" : "free");
        if (core_held(c)) {
            table_cell(t, "-");
            table_cell(t, "-");
            table_cell(t, "%s", c->label && c->label[0] ? c->label : "-");
            table_cell(t, "-");
        } else if (c->busy) {
            table_cell(t, "%" PRIu64, c->session_id);
            table_cell(t, "%" PRIu64, c->task_id);
            table_cell(t, "%s", c->label && c->label[0] ? c->label : "-");
            table_cell(t, "%" PRIu32, c->queued);
        } else {
            table_cell(t, "-");
            table_cell(t, "-");
            table_cell(t, "-");
            table_cell(t, "-");
        }
        if (c->last_session_id)
            table_cell(t, "%" PRIu64, c->last_session_id);
        else
            table_cell(t, "-");
    }
    table_print(t, out);
    table_free(t);
}

void status_print_sessions(const Nodus__V1__StatusReply *r, FILE *out)
{
    static const char *const headers[] = {"SESSION", "UID",    "PID",       "JOB",     "CLIENT",
                                          "ROLE",    "WEIGHT", "SUBMITTED", "WAITING", "READY",
                                          "RUNNING", "DEVICE", "DONE",      "CORE-S"};
    ctl_table_t *t = table_create(14, headers, "rrrlllrrrrrrrr");
    if (!t) return;
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Nodus__V1__SessionStatus *s = r->sessions[i];
        table_cell(t, "%" PRIu64, s->session_id);
        table_cell(t, "%" PRIu32, s->uid);
        table_cell(t, "%" PRIu32, s->pid);
        table_cell(t, "%s", s->job_name && s->job_name[0] ? s->job_name : "-");
        table_cell(t, "%s", s->client_name && s->client_name[0] ? s->client_name : "-");
        table_cell(t, "%s", role_name(s->role));
        table_cell(t, "%" PRIu32, s->weight);
        table_cell(t, "%" PRIu64, s->submitted);
        table_cell(t, "%" PRIu64, s->waiting);
        table_cell(t, "%" PRIu64, s->ready);
        table_cell(t, "%" PRIu64, s->running);
        table_cell(t, "%" PRIu64, s->device);
        table_cell(t, "%" PRIu64, s->done);
        table_cell(t, "%" PRIu64 ".%03" PRIu64, s->core_ns / 1000000000u,
                   s->core_ns / 1000000u % 1000u);
    }
    table_print(t, out);
    table_free(t);
}

static const Nodus__V1__DeviceInfo no_info = NODUS__V1__DEVICE_INFO__INIT;

static const Nodus__V1__DeviceInfo *info_of(const Nodus__V1__DeviceStatus *d)
{
    return d->info ? d->info : &no_info;
}

/* "3:2 5:1": in-flight tasks per session, or "-". */
static void format_per_session(const Nodus__V1__DeviceStatus *d, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->n_sessions && n < len; i++) {
        const Nodus__V1__SessionInFlight *p = d->sessions[i];
        int w = snprintf(buf + n, len - n, "%s%" PRIu64 ":%" PRIu32, i ? " " : "", p->session_id,
                         p->in_flight);
        if (w < 0) break;
        n += (size_t)w;
    }
    if (!buf[0]) snprintf(buf, len, "-");
}

void status_print_devices(const Nodus__V1__StatusReply *r, FILE *out)
{
    static const char *const headers[] = {"DEVICE",    "KIND",      "NAME",  "MEMORY-MIB",
                                          "IN-FLIGHT", "COMPLETED", "CORES", "SESSIONS"};
    ctl_table_t *t = table_create(8, headers, "rllrrrll");
    if (!t) return;
    for (size_t i = 0; i < r->n_devices; i++) {
        const Nodus__V1__DeviceStatus *d = r->devices[i];
        const Nodus__V1__DeviceInfo *in = info_of(d);
        char per[256], cores[128] = "-";
        format_per_session(d, per, sizeof per);
        if (in->n_cores) {
            size_t n = 0;
            for (size_t k = 0; k < in->n_cores && n < sizeof cores; k++) {
                int w =
                    snprintf(cores + n, sizeof cores - n, "%s%" PRIu32, k ? "," : "", in->cores[k]);
                if (w < 0) break;
                n += (size_t)w;
            }
            if (d->cores_held && n + 8 < sizeof cores)
                snprintf(cores + n, sizeof cores - n, " held");
        }
        table_cell(t, "%" PRIu32, in->index);
        table_cell(t, "%s", device_kind_name(in->kind));
        table_cell(t, "%s", in->name && in->name[0] ? in->name : "-");
        table_cell(t, "%" PRIu64, in->memory >> 20);
        table_cell(t, "%" PRIu32 "/%" PRIu32, d->in_flight, d->max_in_flight);
        table_cell(t, "%" PRIu64, d->completed);
        table_cell(t, "%s", cores);
        table_cell(t, "%s", per);
    }
    table_print(t, out);
    table_free(t);
}

void status_print_text(const Nodus__V1__StatusReply *r, FILE *out)
{
    const Nodus__V1__DaemonCounters *k = counters_of(r);
    char up[64];
    status_format_uptime(k->uptime_ns, up, sizeof up);
    fprintf(out,
            "nodusd %s  pid %" PRIu32 "  up %s  sessions %zu (%" PRIu64 " total, %" PRIu64
            " dropped)  tasks %" PRIu64 " submitted, %" PRIu64 " done  grants %" PRIu64
            "  messages %" PRIu64 " in, %" PRIu64 " out  bytes %" PRIu64 " in, %" PRIu64 " out\n",
            r->version && r->version[0] ? r->version : "?", r->pid, up, r->n_sessions,
            k->sessions_total, k->sessions_dropped, k->tasks_submitted, k->tasks_done, k->grants,
            k->messages_in, k->messages_out, k->bytes_in, k->bytes_out);
    if (r->settings) {
        const Nodus__V1__DaemonSettings *st = r->settings;
        fprintf(out,
                "%sweights %" PRIu32 " default, %" PRIu32 " max  lookahead %" PRIu32
                "  drain timeout %" PRIu32 " s  admin group %s  trace %s",
                r->draining ? "DRAINING (new client sessions refused)  " : "", st->default_weight,
                st->max_weight, st->lookahead, st->drain_timeout_s,
                st->admin_group && st->admin_group[0] ? st->admin_group : "-",
                st->trace_recording ? "recording" : "off");
        if (st->trace_recording)
            fprintf(out, " (%" PRIu64 "/%" PRIu64 " events)", st->trace_events, st->trace_capacity);
        fputc('\n', out);
    }
    fputc('\n', out);
    print_cores(r, out);
    fputc('\n', out);
    if (r->n_devices) {
        status_print_devices(r, out);
        fputc('\n', out);
    }
    if (r->n_sessions)
        status_print_sessions(r, out);
    else
        fputs("no sessions\n", out);
    if (r->hidden_sessions)
        fprintf(out, "%" PRIu32 " sessions of other users not shown (not an administrator)\n",
                r->hidden_sessions);
}

void status_print_json(const Nodus__V1__StatusReply *r, FILE *out)
{
    const Nodus__V1__DaemonCounters *k = counters_of(r);
    json_out_t j;
    json_init(&j, out);
    json_object_begin(&j, NULL);
    json_u64(&j, "pid", r->pid);
    json_str(&j, "version", r->version);
    json_seconds(&j, "uptime_s", k->uptime_ns);
    json_bool(&j, "draining", r->draining);
    if (r->settings) {
        const Nodus__V1__DaemonSettings *st = r->settings;
        json_object_begin(&j, "settings");
        json_u64(&j, "default_weight", st->default_weight);
        json_u64(&j, "max_weight", st->max_weight);
        json_u64(&j, "lookahead", st->lookahead);
        json_u64(&j, "reserve_after_ms", st->reserve_after_ms);
        json_u64(&j, "drain_timeout_s", st->drain_timeout_s);
        json_u64(&j, "log_level", st->log_level);
        json_str(&j, "admin_group", st->admin_group);
        json_bool(&j, "trace_recording", st->trace_recording);
        json_u64(&j, "trace_events", st->trace_events);
        json_u64(&j, "trace_capacity", st->trace_capacity);
        json_u64(&j, "max_sessions_per_user", st->max_sessions_per_user);
        json_u64(&j, "max_outstanding_tasks", st->max_outstanding_tasks);
        json_u64(&j, "max_message_bytes", st->max_message_bytes);
        json_object_end(&j);
    }

    json_array_begin(&j, "cores");
    for (size_t i = 0; i < r->n_cores; i++) {
        const Nodus__V1__CoreStatus *c = r->cores[i];
        json_object_begin(&j, NULL);
        json_u64(&j, "cpu", c->cpu);
        json_bool(&j, "busy", c->busy);
        json_u64(&j, "session_id", c->session_id);
        json_u64(&j, "task_id", c->task_id);
        json_str(&j, "label", c->label);
        json_u64(&j, "queued", c->queued);
        json_u64(&j, "last_session_id", c->last_session_id);
        json_bool(&j, "held", core_held(c));
        json_object_end(&j);
    }
    json_array_end(&j);

    json_array_begin(&j, "sessions");
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Nodus__V1__SessionStatus *s = r->sessions[i];
        json_object_begin(&j, NULL);
        json_u64(&j, "session_id", s->session_id);
        json_u64(&j, "uid", s->uid);
        json_u64(&j, "pid", s->pid);
        json_str(&j, "job", s->job_name);
        json_str(&j, "client", s->client_name);
        json_str(&j, "role", role_name(s->role));
        json_u64(&j, "weight", s->weight);
        json_u64(&j, "submitted", s->submitted);
        json_u64(&j, "waiting", s->waiting);
        json_u64(&j, "ready", s->ready);
        json_u64(&j, "running", s->running);
        json_u64(&j, "device", s->device);
        json_u64(&j, "done", s->done);
        json_u64(&j, "core_ns", s->core_ns);
        json_seconds(&j, "core_s", s->core_ns);
        json_u64(&j, "held_bytes", s->held_bytes);
        json_bool(&j, "read_stopped", s->read_stopped);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_u64(&j, "hidden_sessions", r->hidden_sessions);

    json_array_begin(&j, "users");
    for (size_t i = 0; i < r->n_users; i++) {
        const Nodus__V1__UserStatus *u = r->users[i];
        json_object_begin(&j, NULL);
        json_u64(&j, "uid", u->uid);
        json_u64(&j, "sessions", u->sessions);
        json_u64(&j, "outstanding", u->outstanding);
        json_u64(&j, "peak_outstanding", u->peak_outstanding);
        json_u64(&j, "throttled", u->throttled);
        json_object_end(&j);
    }
    json_array_end(&j);

    json_array_begin(&j, "devices");
    for (size_t i = 0; i < r->n_devices; i++) {
        const Nodus__V1__DeviceStatus *d = r->devices[i];
        const Nodus__V1__DeviceInfo *in = info_of(d);
        json_object_begin(&j, NULL);
        json_u64(&j, "index", in->index);
        json_str(&j, "kind", device_kind_name(in->kind));
        json_str(&j, "name", in->name);
        json_str(&j, "vendor", in->vendor);
        json_u64(&j, "memory", in->memory);
        if (in->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL) {
            json_str(&j, "platform", in->platform);
            json_u64(&j, "platform_device", in->platform_device);
            json_bool(&j, "cpu_device", in->cpu_device);
        }
        json_u64(&j, "slots", in->slots);
        json_u64(&j, "in_flight", d->in_flight);
        json_u64(&j, "max_in_flight", d->max_in_flight);
        json_u64(&j, "completed", d->completed);
        json_bool(&j, "cores_held", d->cores_held);
        json_array_begin(&j, "cores");
        for (size_t c = 0; c < in->n_cores; c++)
            json_u64(&j, NULL, in->cores[c]);
        json_array_end(&j);
        json_array_begin(&j, "sessions");
        for (size_t e = 0; e < d->n_sessions; e++) {
            json_object_begin(&j, NULL);
            json_u64(&j, "session_id", d->sessions[e]->session_id);
            json_u64(&j, "in_flight", d->sessions[e]->in_flight);
            json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);

    json_object_begin(&j, "counters");
    json_u64(&j, "uptime_ns", k->uptime_ns);
    json_u64(&j, "sessions_total", k->sessions_total);
    json_u64(&j, "sessions_dropped", k->sessions_dropped);
    json_u64(&j, "tasks_submitted", k->tasks_submitted);
    json_u64(&j, "tasks_done", k->tasks_done);
    json_u64(&j, "grants", k->grants);
    json_u64(&j, "messages_in", k->messages_in);
    json_u64(&j, "messages_out", k->messages_out);
    json_u64(&j, "bytes_in", k->bytes_in);
    json_u64(&j, "bytes_out", k->bytes_out);
    json_u64(&j, "live_tasks", k->live_tasks);
    json_u64(&j, "live_sessions", k->live_sessions);
    json_u64(&j, "deps_segments", k->deps_segments);
    json_u64(&j, "held_bytes", k->held_bytes);
    json_u64(&j, "sessions_refused", k->sessions_refused);
    json_u64(&j, "frames_refused", k->frames_refused);
    json_object_end(&j);
    json_object_end(&j);
}

int ctl_status(ctl_conn_t *c, int json, FILE *out, char *err, size_t errlen)
{
    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    Nodus__V1__Msg req = NODUS__V1__MSG__INIT;
    req.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    req.status_request = &sr;
    Nodus__V1__Msg *reply;
    int rc = ctl_conn_request(c, &req, NODUS__V1__MSG__BODY_STATUS_REPLY, &reply, err, errlen);
    if (rc < 0) return rc;
    if (json)
        status_print_json(reply->status_reply, out);
    else
        status_print_text(reply->status_reply, out);
    nodus__v1__msg__free_unpacked(reply, NULL);
    return 0;
}
