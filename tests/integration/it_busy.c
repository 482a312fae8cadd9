/*
 * it_busy: an integration-test client that submits N independent (or chained) tasks of a fixed
 * busy-wait duration and records, per task, the core the daemon granted, the CPU the body really
 * ran on, and its start/end times (CLOCK_MONOTONIC, comparable across processes). The timeline
 * file is checked by it_timeline_check.
 *
 *   it_busy --tasks N --us D [--job NAME] [--chain] [--timeline FILE] [--cores K]
 *           [--crash I]   task I's body raises SIGSEGV (a client crash, for the daemon's log)
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nodus.h>

typedef struct record {
    int granted;
    int ran_on;
    int ncores;
    unsigned long long start_ns, end_ns;
} record_t;

typedef struct job {
    record_t *rec;
    unsigned us;
    char *chain_cell;
    size_t crash_at; /* SIZE_MAX: none */
} job_t;

typedef struct task_arg {
    job_t *job;
    size_t idx;
} task_arg_t;

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void busy_task(void *p)
{
    task_arg_t *a = p;
    record_t *r = &a->job->rec[a->idx];
    r->start_ns = now_ns();
    r->granted = nodus_task_core();
    r->ran_on = sched_getcpu();
    r->ncores = nodus_task_ncores();
    if (a->idx == a->job->crash_at) raise(SIGSEGV);
    while (now_ns() - r->start_ns < a->job->us * 1000ull)
        ;
    r->end_ns = now_ns();
}

int main(int argc, char **argv)
{
    size_t ntasks = 100;
    unsigned us = 1000, ncores = 1;
    const char *jobname = "it_busy", *timeline = NULL;
    int chain = 0;
    size_t crash_at = SIZE_MAX;
    static const struct option opts[] = {
        {"tasks", required_argument, 0, 'n'}, {"us", required_argument, 0, 'u'},
        {"job", required_argument, 0, 'j'},   {"timeline", required_argument, 0, 't'},
        {"chain", no_argument, 0, 'c'},       {"cores", required_argument, 0, 'k'},
        {"crash", required_argument, 0, 'x'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            ntasks = strtoul(optarg, NULL, 10);
            break;
        case 'u':
            us = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'j':
            jobname = optarg;
            break;
        case 't':
            timeline = optarg;
            break;
        case 'c':
            chain = 1;
            break;
        case 'k':
            ncores = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'x':
            crash_at = strtoul(optarg, NULL, 10);
            break;
        default:
            return 2;
        }
    }

    job_t job = {.us = us, .crash_at = crash_at};
    job.rec = calloc(ntasks, sizeof *job.rec);
    task_arg_t *args = calloc(ntasks, sizeof *args);
    char cell = 0;
    nodus_t *n = NULL;
    nodus_task_attr_t *attr = NULL;
    unsigned long long t0 = 0, t1 = 0;
    int status = 1, rc; /* every path below frees what it took (checked under LeakSanitizer) */
    if (!job.rec || !args) goto out;
    rc = nodus_open(&n, jobname, NULL);
    if (rc < 0) {
        fprintf(stderr, "it_busy: nodus_open: %s\n", nodus_strerror(rc));
        n = NULL;
        goto out;
    }
    if (nodus_task_attr_create(&attr) < 0 || nodus_task_attr_set_cores(attr, ncores) < 0 ||
        nodus_task_attr_set_label(attr, jobname) < 0) {
        fprintf(stderr, "it_busy: bad task attributes\n");
        goto out;
    }
    t0 = now_ns();
    for (size_t i = 0; i < ntasks; i++) {
        args[i] = (task_arg_t){&job, i};
        nodus_access_t acc = {&cell, 1, NODUS_INOUT};
        rc = nodus_submit(n, busy_task, &args[i], chain ? &acc : NULL, chain ? 1 : 0, attr);
        if (rc < 0) {
            fprintf(stderr, "it_busy: submit: %s\n", nodus_strerror(rc));
            goto out;
        }
    }
    rc = nodus_taskwait(n);
    t1 = now_ns();
    if (rc < 0) {
        fprintf(stderr, "it_busy: taskwait: %s\n", nodus_strerror(rc));
        goto out;
    }
    status = 0;
    for (size_t i = 0; i < ntasks; i++) {
        if (job.rec[i].end_ns == 0) {
            fprintf(stderr, "it_busy: task %zu never ran\n", i);
            status = 1;
        } else if (job.rec[i].granted != job.rec[i].ran_on) {
            fprintf(stderr, "it_busy: task %zu granted cpu %d but ran on %d\n", i,
                    job.rec[i].granted, job.rec[i].ran_on);
            status = 1;
        } else if (chain && i > 0 && job.rec[i].start_ns < job.rec[i - 1].end_ns) {
            fprintf(stderr, "it_busy: chain task %zu started before its predecessor ended\n", i);
            status = 1;
        }
    }
    if (timeline) {
        FILE *f = fopen(timeline, "w");
        if (!f) {
            fprintf(stderr, "it_busy: %s: %s\n", timeline, strerror(errno));
            status = 1;
            goto out;
        }
        for (size_t i = 0; i < ntasks; i++)
            fprintf(f, "%d %llu %llu %s %zu %d\n", job.rec[i].granted, job.rec[i].start_ns,
                    job.rec[i].end_ns, jobname, i, job.rec[i].ncores);
        fclose(f);
    }
out:
    nodus_task_attr_destroy(attr);
    if (n) {
        rc = nodus_close(n);
        if (rc < 0 && status == 0) {
            fprintf(stderr, "it_busy: close: %s\n", nodus_strerror(rc));
            status = 1;
        }
    }
    if (status == 0) printf("%s: %zu tasks in %.3f s\n", jobname, ntasks, (double)(t1 - t0) / 1e9);
    free(job.rec);
    free(args);
    return status;
}
