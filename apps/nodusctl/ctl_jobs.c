/*
 * The jobs command: status sessions grouped by (uid, job name).
 */
#include "ctl_jobs.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_table.h"
#include "json_out.h"
#include "nodus.h"

long jobs_from_status(const Nodus__V1__StatusReply *r, ctl_job_t **out)
{
    ctl_job_t *jobs = calloc(r->n_sessions ? r->n_sessions : 1, sizeof *jobs);
    if (!jobs) return -1;
    size_t n = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Nodus__V1__SessionStatus *s = r->sessions[i];
        if (s->role != NODUS__V1__ROLE__ROLE_CLIENT) continue;
        const char *name = s->job_name ? s->job_name : "";
        ctl_job_t *j = NULL;
        for (size_t k = 0; k < n && !j; k++)
            if (jobs[k].uid == s->uid && strcmp(jobs[k].name, name) == 0) j = &jobs[k];
        if (!j) {
            j = &jobs[n++];
            j->uid = s->uid;
            j->name = name;
        }
        j->weight = s->weight; /* one weight per job: the sessions agree */
        j->nsessions++;
        j->submitted += s->submitted;
        j->done += s->done;
        j->running += s->running;
        j->core_ns += s->core_ns;
        total += s->core_ns;
    }
    for (size_t k = 0; k < n; k++)
        jobs[k].share = total ? 100.0 * (double)jobs[k].core_ns / (double)total : 0.0;
    *out = jobs;
    return (long)n;
}

void jobs_print_text(const ctl_job_t *jobs, size_t n, FILE *out)
{
    if (n == 0) {
        fputs("no jobs\n", out);
        return;
    }
    static const char *const headers[] = {"UID",  "JOB",     "SESSIONS", "WEIGHT", "SUBMITTED",
                                          "DONE", "RUNNING", "CORE-S",   "SHARE"};
    ctl_table_t *t = table_create(9, headers, "rlrrrrrrr");
    if (!t) return;
    for (size_t i = 0; i < n; i++) {
        const ctl_job_t *j = &jobs[i];
        table_cell(t, "%" PRIu32, j->uid);
        table_cell(t, "%s", j->name[0] ? j->name : "-");
        table_cell(t, "%zu", j->nsessions);
        table_cell(t, "%" PRIu32, j->weight);
        table_cell(t, "%" PRIu64, j->submitted);
        table_cell(t, "%" PRIu64, j->done);
        table_cell(t, "%" PRIu64, j->running);
        table_cell(t, "%" PRIu64 ".%03" PRIu64, j->core_ns / 1000000000u,
                   j->core_ns / 1000000u % 1000u);
        table_cell(t, "%.1f%%", j->share);
    }
    table_print(t, out);
    table_free(t);
}

void jobs_print_json(const ctl_job_t *jobs, size_t n, const Nodus__V1__StatusReply *r, FILE *out)
{
    json_out_t j;
    json_init(&j, out);
    json_object_begin(&j, NULL);
    json_array_begin(&j, "jobs");
    for (size_t i = 0; i < n; i++) {
        const ctl_job_t *job = &jobs[i];
        json_object_begin(&j, NULL);
        json_u64(&j, "uid", job->uid);
        json_str(&j, "job", job->name);
        json_u64(&j, "sessions", job->nsessions);
        json_array_begin(&j, "session_ids");
        for (size_t k = 0; k < r->n_sessions; k++) {
            const Nodus__V1__SessionStatus *s = r->sessions[k];
            if (s->role == NODUS__V1__ROLE__ROLE_CLIENT && s->uid == job->uid &&
                strcmp(s->job_name ? s->job_name : "", job->name) == 0)
                json_u64(&j, NULL, s->session_id);
        }
        json_array_end(&j);
        json_u64(&j, "weight", job->weight);
        json_u64(&j, "submitted", job->submitted);
        json_u64(&j, "done", job->done);
        json_u64(&j, "running", job->running);
        json_u64(&j, "core_ns", job->core_ns);
        json_seconds(&j, "core_s", job->core_ns);
        json_percent(&j, "share_pct", job->share);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
}

int ctl_jobs(ctl_conn_t *c, int json, FILE *out, char *err, size_t errlen)
{
    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    Nodus__V1__Msg req = NODUS__V1__MSG__INIT;
    req.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    req.status_request = &sr;
    Nodus__V1__Msg *reply;
    int rc = ctl_conn_request(c, &req, NODUS__V1__MSG__BODY_STATUS_REPLY, &reply, err, errlen);
    if (rc < 0) return rc;
    ctl_job_t *jobs;
    long n = jobs_from_status(reply->status_reply, &jobs);
    if (n < 0) {
        nodus__v1__msg__free_unpacked(reply, NULL);
        snprintf(err, errlen, "out of memory");
        return NODUS_ENOMEM;
    }
    if (json)
        jobs_print_json(jobs, (size_t)n, reply->status_reply, out);
    else
        jobs_print_text(jobs, (size_t)n, out);
    free(jobs);
    nodus__v1__msg__free_unpacked(reply, NULL);
    return 0;
}
