/*
 * The top command. Each frame is one StatusRequest; tasks/s is the difference of tasks_done
 * between two frames over the difference of their uptimes, so it is exact whatever the delay
 * between requests. The terminal is put in non-canonical mode only to see a 'q' at once, and
 * restored on every way out (q, Ctrl-C, an error).
 */
#include "ctl_top.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl_status.h"
#include "nodus.h"

static volatile sig_atomic_t top_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    top_interrupted = 1;
}

/* The job and client of session `id` in r, or "-". */
static const Nodus__V1__SessionStatus *find_session(const Nodus__V1__StatusReply *r, uint64_t id)
{
    for (size_t i = 0; i < r->n_sessions; i++)
        if (r->sessions[i]->session_id == id) return r->sessions[i];
    return NULL;
}

static void print_frame(const Nodus__V1__StatusReply *r, const Nodus__V1__StatusReply *prev,
                        FILE *out)
{
    const Nodus__V1__DaemonCounters *k = r->counters;
    uint64_t up = k ? k->uptime_ns : 0, done = k ? k->tasks_done : 0;
    char upbuf[64], rate[32] = "-";
    status_format_uptime(up, upbuf, sizeof upbuf);
    if (prev && prev->counters && up > prev->counters->uptime_ns &&
        done >= prev->counters->tasks_done)
        snprintf(rate, sizeof rate, "%.0f",
                 (double)(done - prev->counters->tasks_done) * 1e9 /
                     (double)(up - prev->counters->uptime_ns));
    size_t busy = 0, clients = 0;
    for (size_t i = 0; i < r->n_cores; i++)
        busy += r->cores[i]->busy;
    for (size_t i = 0; i < r->n_sessions; i++)
        clients += r->sessions[i]->role == NODUS__V1__ROLE__ROLE_CLIENT;
    fprintf(out,
            "nodusd %s  pid %" PRIu32 "  up %s  tasks/s %s  busy %zu/%zu cores  sessions %zu"
            "  tasks %" PRIu64 " done%s\n\n",
            r->version && r->version[0] ? r->version : "?", r->pid, upbuf, rate, busy, r->n_cores,
            clients, done, r->draining ? "  DRAINING" : "");

    fputs("CPU   STATE  SESSION  JOB                  TASK      LABEL\n", out);
    for (size_t i = 0; i < r->n_cores; i++) {
        const Nodus__V1__CoreStatus *c = r->cores[i];
        const char *label = c->label && c->label[0] ? c->label : "-";
        if (c->busy && c->session_id == 0) {
            fprintf(out, "%-5" PRIu32 " held   -        -                    -         %s\n",
                    c->cpu, label);
        } else if (c->busy) {
            const Nodus__V1__SessionStatus *s = find_session(r, c->session_id);
            const char *job = s && s->job_name && s->job_name[0] ? s->job_name : "-";
            char queued[32] = "";
            if (c->queued) snprintf(queued, sizeof queued, "  +%" PRIu32 " queued", c->queued);
            fprintf(out, "%-5" PRIu32 " busy   %-8" PRIu64 " %-20.20s %-9" PRIu64 " %s%s\n", c->cpu,
                    c->session_id, job, c->task_id, label, queued);
        } else {
            fprintf(out, "%-5" PRIu32 " free\n", c->cpu);
        }
    }
    fputc('\n', out);
    if (r->n_devices) {
        status_print_devices(r, out);
        fputc('\n', out);
    }
    if (clients || r->n_sessions)
        status_print_sessions(r, out);
    else
        fputs("no sessions\n", out);
}

/* Waits up to ms for a key; 1 when it was q (or Q), or the view was interrupted. */
static int wait_key(int tty, unsigned ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (top_interrupted) return 1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= (long)ms) return 0;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, tty ? 1 : 0, (int)((long)ms - elapsed));
        if (n > 0) {
            char ch;
            if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q')) return 1;
            if (p.revents & (POLLHUP | POLLERR)) tty = 0;
        }
    }
}

int ctl_top(ctl_conn_t *c, unsigned iterations, unsigned interval_ms, FILE *out, char *err,
            size_t errlen)
{
    int screen = isatty(fileno(out));
    int keys = screen && isatty(STDIN_FILENO);
    if (!screen && iterations == 0) iterations = 1;
    struct termios saved;
    if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
        struct termios raw = saved;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        keys = 0;
    }
    struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (screen) fputs("\x1b[?1049h\x1b[?25l", out); /* alternate screen, no cursor */

    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    Nodus__V1__Msg req = NODUS__V1__MSG__INIT;
    req.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    req.status_request = &sr;
    Nodus__V1__Msg *prev = NULL;
    int rc = 0;
    for (unsigned n = 0; iterations == 0 || n < iterations; n++) {
        Nodus__V1__Msg *reply;
        rc = ctl_conn_request(c, &req, NODUS__V1__MSG__BODY_STATUS_REPLY, &reply, err, errlen);
        if (rc < 0) break;
        if (screen)
            fputs("\x1b[H\x1b[2J", out);
        else if (n > 0)
            fputc('\n', out);
        print_frame(reply->status_reply, prev ? prev->status_reply : NULL, out);
        if (screen) fputs("\n(q to quit)", out);
        fflush(out);
        if (prev) nodus__v1__msg__free_unpacked(prev, NULL);
        prev = reply;
        if ((iterations == 0 || n + 1 < iterations) && wait_key(keys, interval_ms)) break;
    }
    if (prev) nodus__v1__msg__free_unpacked(prev, NULL);
    if (screen) fputs("\x1b[?25h\x1b[?1049l", out);
    fflush(out);
    if (keys) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
