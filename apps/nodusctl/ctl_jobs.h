/*
 * `nodusctl jobs`: the fair-share accounts (a uid and a job name; several sessions, e.g. MPI
 * ranks, may share one), worked out from a StatusReply: sessions, weight, tasks submitted and
 * done, core-seconds and each job's share of the core-time used by the open sessions.
 */
#ifndef NODUSCTL_JOBS_H
#define NODUSCTL_JOBS_H

#include <stdint.h>
#include <stdio.h>

#include "ctl_conn.h"

typedef struct ctl_job {
    uint32_t uid;
    const char *name; /* borrowed from the reply */
    uint32_t weight;
    size_t nsessions;
    uint64_t submitted, done, running, core_ns;
    double share; /* percent of the core-time of all open client sessions */
} ctl_job_t;

/*
 * Groups the client sessions of r into jobs, in the order their first session appears (oldest
 * first). *jobs is the caller's to free; returns the number, or -1 on OOM.
 */
long jobs_from_status(const Nodus__V1__StatusReply *r, ctl_job_t **jobs);
/* Prints the jobs table (text) or {"jobs": [...]} (JSON). */
void jobs_print_text(const ctl_job_t *jobs, size_t n, FILE *out);
void jobs_print_json(const ctl_job_t *jobs, size_t n, const Nodus__V1__StatusReply *r, FILE *out);
/* Requests the status over c and prints the jobs; 0 or a NODUS_E* code with err set. */
int ctl_jobs(ctl_conn_t *c, int json, FILE *out, char *err, size_t errlen);

#endif
