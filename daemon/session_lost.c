/*
 * Lost clients: a CLIENT session whose connection ends without Bye while some of its tasks run
 * (a task body crashed the process, or it was killed). The daemon reclaims everything at once
 * (session_close); this file only says so in the log, at warning level, with what an operator
 * needs to find the culprit: the session, uid, pid, job, and each task that was running, with
 * its label and cores.
 *
 * Whether the peer process is gone is looked up a little later (a process closes its files
 * before it becomes a zombie): /proc/PID/stat gives its state, and for a zombie (not yet reaped
 * by its parent) the exit status in field 52, which tells a signal death from an exit. A reaped
 * process is only "gone". Root, or the peer's own user, may read that field; otherwise the
 * verdict is "exited". Loop thread only.
 */
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"

/* Running tasks named one per line; the rest are counted. */
#define LOST_MAX_TASK_LINES 32
/* When the peer process is looked at after the loss, in ms (then once more). */
#define LOST_CHECK_MS    50
#define LOST_CHECK_TRIES 4

typedef struct lost_check {
    uv_timer_t timer;
    daemon_t *d;
    struct lost_check *prev, *next; /* d->lost_checks */
    uint64_t session_id;
    uint32_t pid;
    int tries;
} lost_check_t;

/* Formats the CPUs of t's grant ("3" or "2,3"). */
static void format_cpus(const session_t *s, const task_t *t, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (uint32_t k = 0; k < t->ncores && off + 12 < len; k++)
        off += (size_t)snprintf(buf + off, len - off, "%s%u", k ? "," : "",
                                sched_core_cpu(s->d->sched, t->cores[k]));
}

static void on_check_closed(uv_handle_t *h)
{
    free(h->data);
}

static void check_done(lost_check_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->d->lost_checks = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    uv_close((uv_handle_t *)&c->timer, on_check_closed);
}

/*
 * Reads /proc/PID/stat: 0 = no such process, 1 = alive, 2 = zombie with *status its wait
 * status (-1 when it cannot be read).
 */
static int peer_state(uint32_t pid, int *status)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!p || p[1] != ' ') return 1;
    char state = p[2];
    if (state != 'Z' && state != 'X') return 1;
    /* fields after the state: 4 (ppid) ... 52 (exit_code): 49 more */
    *status = -1;
    char *tok = p + 3;
    for (int field = 4; field <= 52 && tok; field++) {
        while (*tok == ' ')
            tok++;
        if (field == 52) {
            char *end;
            long v = strtol(tok, &end, 10);
            if (end != tok) *status = (int)v;
            break;
        }
        tok = strchr(tok, ' ');
    }
    return 2;
}

static void on_check(uv_timer_t *h)
{
    lost_check_t *c = h->data;
    int status = -1;
    int st = peer_state(c->pid, &status);
    if (st == 1 && ++c->tries < LOST_CHECK_TRIES) {
        uv_timer_start(&c->timer, on_check, LOST_CHECK_MS * (uint64_t)c->tries * 2, 0);
        return;
    }
    if (st == 0)
        LOG(LOG_WARNING, "session", c->session_id, "lost client pid=%u: process gone", c->pid);
    else if (st == 1)
        LOG(LOG_WARNING, "session", c->session_id,
            "lost client pid=%u: process still running (it closed the connection)", c->pid);
    else if (status >= 0 && WIFSIGNALED(status))
        LOG(LOG_WARNING, "session", c->session_id,
            "lost client pid=%u: process killed by signal %d (%s)%s", c->pid, WTERMSIG(status),
            strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else if (status >= 0 && WIFEXITED(status))
        LOG(LOG_WARNING, "session", c->session_id, "lost client pid=%u: process exited with %d",
            c->pid, WEXITSTATUS(status));
    else
        LOG(LOG_WARNING, "session", c->session_id, "lost client pid=%u: process exited", c->pid);
    check_done(c);
}

/* Looks at the peer process a little later (it may still be closing its files now). */
static void schedule_check(session_t *s)
{
    daemon_t *d = s->d;
    if (d->stopping || s->pid == 0) return;
    lost_check_t *c = calloc(1, sizeof *c);
    if (!c) return; /* the main line is logged already */
    c->d = d;
    c->session_id = s->id;
    c->pid = s->pid;
    uv_timer_init(d->loop, &c->timer);
    c->timer.data = c;
    c->next = d->lost_checks;
    if (c->next) c->next->prev = c;
    d->lost_checks = c;
    uv_timer_start(&c->timer, on_check, LOST_CHECK_MS, 0);
}

void session_log_lost(session_t *s, const char *reason)
{
    size_t running = 0, queued = 0, device = 0;
    for (task_t *t = s->live.head; t; t = t->live_next) {
        if (t->state == TASK_RUNNING) {
            if (sched_core_task(s->d->sched, t->cores[0]) == t)
                running++;
            else
                queued++;
        } else if (t->state == TASK_DEVICE) {
            device++;
        }
    }
    if (running == 0 && device == 0) return; /* nothing was in the peer's hands: a plain close */
    LOG(LOG_WARNING, "session", s->id,
        "client lost without bye (%s) with %zu tasks running: uid=%u pid=%u job=%s client=%s; "
        "%zu granted behind them, %zu on devices, %zu live in all",
        reason, running, s->uid, s->pid, s->job, s->client_name[0] ? s->client_name : "-", queued,
        device, s->live.count);
    size_t lines = 0;
    for (task_t *t = s->live.head; t && lines < LOST_MAX_TASK_LINES; t = t->live_next) {
        char cpus[64];
        if (t->state == TASK_RUNNING && sched_core_task(s->d->sched, t->cores[0]) == t) {
            format_cpus(s, t, cpus, sizeof cpus);
            LOG(LOG_WARNING, "session", s->id, "lost client: task %llu label=%s running on cpu %s",
                (unsigned long long)t->id, t->label[0] ? t->label : "-", cpus);
            lines++;
        } else if (t->state == TASK_DEVICE) {
            LOG(LOG_WARNING, "session", s->id,
                "lost client: task %llu label=%s device work in flight on device %u",
                (unsigned long long)t->id, t->label[0] ? t->label : "-", t->device);
            lines++;
        }
    }
    if (running + device > lines)
        LOG(LOG_WARNING, "session", s->id, "lost client: %zu more tasks running",
            running + device - lines);
    schedule_check(s);
}

void session_lost_stop(daemon_t *d)
{
    while (d->lost_checks)
        check_done(d->lost_checks);
}
