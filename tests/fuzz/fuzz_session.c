/*
 * libFuzzer target over the daemon's session state machine, for real: an in-process daemon
 * (daemon_t on its own uv loop, a scheduler over two or three fake cores, default configuration)
 * serves up to FUZZ_SESSION_CONNS connections, each a socketpair whose daemon end is adopted as a
 * session exactly as an accepted connection is, and whose other end this harness writes from
 * the fuzz input (format in fuzz_session.h). Between writes the harness runs the loop until the
 * daemon is idle and reads what it sends, like a client would, answering grants when the input
 * says so.
 *
 * Oracles besides the sanitizers (leaks included):
 *   - everything the daemon sends frames, decodes and validates; no grant names a core the daemon
 *     does not own, or a task already granted and not done; a device grant names a device of
 *     its kind, a slot below the device's, one body core and never a core its CPU device holds;
 *     nothing follows an Error;
 *   - the task flow's semantics (session_model.h): no task granted before an earlier task it
 *     conflicts with has completed, no Wait answered early, and once every client has answered
 *     every grant (DONE_ALL), every task has run and every Wait has been answered;
 *   - after every pump: each core is free, heads a RUNNING task of a live CLIENT session, or is
 *     held by a CPU device with tasks in flight (and such a device holds its cores); in-flight
 *     counts stay within the device's and the per-session bounds; each session's live tasks
 *     equal submitted - done;
 *   - at the end, with every connection closed (or the daemon stopped under them): no session
 *     left, every core free, nothing in flight on a device, every session counted, and
 *     uv_loop_close() == 0 after daemon_stop.
 * The daemon may own fake OpenCL devices (no runtime is needed: OpenCL completion is reported by
 * the client, DeviceDone), one of them a CPU device holding the last core.
 * Set NODUS_FUZZ_LOG=debug (or another level) to see the daemon's log.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "devices.h"
#include "frame.h"
#include "fuzz_session.h"
#include "log.h"
#include "nodus.h"
#include "nodus_limits.h"
#include "sched.h"
#include "session.h"
#include "session_model.h"
#include "trace.h"
#include "validate.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_session: check failed at %s:%d: %s\n", __FILE__, __LINE__,       \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * The fake cores' OS ids: not 0..n-1, so that a core index passed off as a CPU id shows. The
 * daemon owns the first two, or all three with FUZZ_CFG_THREE_CORES (set per input).
 */
static const uint32_t fuzz_cpus[] = {4, 9, 1};
static size_t fuzz_ncores = 2;

/* Loop iterations a pump may take before the daemon counts as never going idle (a livelock). */
#define PUMP_MAX_ROUNDS 100000u
/* Rounds a write may find the socket full before the harness stops writing to it. */
#define WRITE_MAX_STALLS 1000u
/* Connections one input may open in all (a closed slot is reopened on its next write). */
#define MAX_OPENED 16u
/* Rounds of DONE_ALL before it gives up (each round finishes at least one task). */
#define DONE_ALL_MAX_ROUNDS 100000u

/* A grant not yet answered with a Done. */
typedef struct grant_rec {
    uint64_t id;
    int opencl; /* granted on an OpenCL device: completes at DeviceDone */
} grant_rec_t;

typedef struct conn {
    int fd;       /* harness end; -1 when not open */
    int wr_shut;  /* SHUT_WR done */
    int wr_dead;  /* the daemon closed, or stopped reading: writes are dropped */
    int gave_up;  /* wr_dead because the daemon did not read for WRITE_MAX_STALLS rounds */
    int eof;      /* the daemon closed its end */
    int stalled;  /* STALL: what the daemon sends is left unread */
    int welcomed; /* got Welcome */
    int errored;  /* got Error */
    frame_reader_t in;
    grant_rec_t *granted; /* granted and not yet answered, in grant order (owned) */
    size_t ngranted, granted_cap;
    uint64_t *inflight; /* OpenCL tasks whose Done was sent, not their DeviceDone (owned) */
    size_t ninflight, inflight_cap;
    uint64_t next_id;    /* next task id of this harness's SUBMITs */
    uint64_t session_id; /* the daemon's session serving this connection */
    session_model_t model;
} conn_t;

typedef struct harness {
    uv_loop_t loop;
    daemon_t d;
    uv_async_t listener; /* stands in for the listening socket: keeps the loop alive */
    conn_t conns[FUZZ_SESSION_CONNS];
    unsigned opened;
    uint8_t cfg;     /* enum fuzz_session_cfg */
    uint8_t dev_cfg; /* enum fuzz_session_dev */
} harness_t;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* NODUS_FUZZ_TRACE set: each op and each message from the daemon is printed (debugging). */
static int trace_ops;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* as nodusd does: a vanished peer is EPIPE */
    const char *lvl = getenv("NODUS_FUZZ_LOG");
    int level = lvl ? log_level_parse(lvl) : -1;
    log_set_level(level >= 0 ? level : LOG_EMERG); /* the daemon logs nothing below emerg */
    trace_ops = getenv("NODUS_FUZZ_TRACE") != NULL;
    return 0;
}

/* ---- reading what the daemon sends ---- */

/* The fake devices of the current input (set by harness_init; the daemon owns the same). */
static size_t fuzz_ndevices;
static uint32_t fuzz_slots;
static const uint32_t *fuzz_device_cpus; /* device 0's held CPU ids if it is a CPU device */
static size_t fuzz_device_ncpus;

static int core_owned(uint32_t cpu)
{
    for (size_t i = 0; i < fuzz_ncores; i++)
        if (fuzz_cpus[i] == cpu) return 1;
    return 0;
}

/* The daemon broke the task flow's semantics (session_model.h). */
static void fail_model(const char *why)
{
    fprintf(stderr, "fuzz_session: the daemon's answer breaks the model: %s\n", why);
    abort();
}

/* A grant's kind, device, slot and cores agree with the devices the daemon owns. */
static void check_device_grant(const Nodus__V1__Grant *g)
{
    if (g->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU) {
        CHECK(g->device == 0 && g->slot == 0);
        return;
    }
    CHECK(g->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL); /* the only kind owned */
    CHECK(g->device < fuzz_ndevices);
    CHECK(g->slot < fuzz_slots);
    CHECK(g->n_cores == 1); /* the body only enqueues */
    if (g->device == 0)
        for (size_t k = 0; k < fuzz_device_ncpus; k++)
            CHECK(g->cores[0] != fuzz_device_cpus[k]); /* never a core its device holds */
}

static void on_daemon_msg(conn_t *c, const Nodus__V1__Msg *m)
{
    const char *why = NULL;
    if (trace_ops) {
        fprintf(stderr, "  <- s%llu %s", (unsigned long long)c->session_id, msg_body_name(m));
        if (m->body_case == NODUS__V1__MSG__BODY_GRANTS)
            for (size_t i = 0; i < m->grants->n_grants; i++)
                fprintf(stderr, " %llu", (unsigned long long)m->grants->grants[i]->task_id);
        if (m->body_case == NODUS__V1__MSG__BODY_WAIT_DONE)
            fprintf(stderr, " %llu", (unsigned long long)m->wait_done->token);
        if (m->body_case == NODUS__V1__MSG__BODY_ERROR) fprintf(stderr, " %s", m->error->message);
        fputc('\n', stderr);
    }
    CHECK(msg_validate(m, fuzz_ncores, &why) == 0);
    CHECK(!c->errored); /* the daemon says nothing after an Error */
    switch (m->body_case) {
    case NODUS__V1__MSG__BODY_WELCOME:
        CHECK(!c->welcomed);
        CHECK(m->welcome->n_devices == fuzz_ndevices);
        CHECK(m->welcome->n_cores == fuzz_ncores);
        for (size_t i = 0; i < fuzz_ncores; i++)
            CHECK(m->welcome->cores[i] == fuzz_cpus[i]);
        c->welcomed = 1;
        break;
    case NODUS__V1__MSG__BODY_GRANTS:
        CHECK(c->welcomed);
        for (size_t i = 0; i < m->grants->n_grants; i++) {
            const Nodus__V1__Grant *g = m->grants->grants[i];
            CHECK(g->n_cores <= fuzz_ncores);
            for (size_t k = 0; k < g->n_cores; k++)
                CHECK(core_owned(g->cores[k]));
            for (size_t k = 0; k < c->ngranted; k++)
                CHECK(c->granted[k].id != g->task_id); /* granted twice */
            for (size_t k = 0; k < c->ninflight; k++)
                CHECK(c->inflight[k] != g->task_id); /* granted again while on its device */
            check_device_grant(g);
            if ((why = model_on_grant(&c->model, g->task_id, g->kind))) fail_model(why);
            if (c->ngranted == c->granted_cap) {
                size_t cap = c->granted_cap ? c->granted_cap * 2 : 16;
                grant_rec_t *ng = realloc(c->granted, cap * sizeof *ng);
                CHECK(ng != NULL);
                c->granted = ng;
                c->granted_cap = cap;
            }
            c->granted[c->ngranted].id = g->task_id;
            c->granted[c->ngranted++].opencl =
                g->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
        }
        break;
    case NODUS__V1__MSG__BODY_ERROR:
        CHECK(m->error->code < 0);
        c->errored = 1;
        break;
    case NODUS__V1__MSG__BODY_WAIT_DONE:
        CHECK(c->welcomed);
        if ((why = model_on_wait_done(&c->model, m->wait_done->token))) fail_model(why);
        break;
    case NODUS__V1__MSG__BODY_CTL_REPLY:
    case NODUS__V1__MSG__BODY_TRACE_CHUNK:
        CHECK(c->welcomed);
        break;
    case NODUS__V1__MSG__BODY_STATUS_REPLY:
        CHECK(c->welcomed);
        CHECK(m->status_reply->n_cores == fuzz_ncores);
        CHECK(m->status_reply->n_devices == fuzz_ndevices);
        break;
    default:
        CHECK(!"the daemon sent a message only peers send");
    }
}

/* Reads everything available on c (unless stalled); returns the number of bytes read. */
static size_t conn_drain(conn_t *c)
{
    size_t got = 0;
    while (c->fd >= 0 && !c->eof && !c->stalled) {
        uint8_t *space;
        size_t avail;
        CHECK(frame_reader_space(&c->in, 64 * 1024, &space, &avail) == 0);
        ssize_t n = recv(c->fd, space, avail, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) { /* end of stream, or ECONNRESET: the daemon closed */
            c->eof = 1;
            break;
        }
        frame_reader_commit(&c->in, (size_t)n);
        got += (size_t)n;
        for (;;) {
            const uint8_t *payload;
            size_t len;
            int rc = frame_reader_next(&c->in, &payload, &len);
            CHECK(rc >= 0); /* the daemon frames what it sends */
            if (rc == 0) break;
            Nodus__V1__Msg *m = frame_decode(payload, len);
            CHECK(m != NULL);
            on_daemon_msg(c, m);
            nodus__v1__msg__free_unpacked(m, NULL);
        }
    }
    return got;
}

static size_t drain_all(harness_t *h)
{
    size_t got = 0;
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++)
        got += conn_drain(&h->conns[i]);
    return got;
}

/* ---- the daemon's state ---- */

static int session_listed(const daemon_t *d, const session_t *s)
{
    for (const session_t *o = d->sessions; o; o = o->next)
        if (o == s) return 1;
    return 0;
}

/* The session's connection is open here and its replies are left unread (STALL). */
static int session_stalled(const harness_t *h, const session_t *s)
{
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++)
        if (h->conns[i].fd >= 0 && h->conns[i].session_id == s->id) return h->conns[i].stalled;
    return 0;
}

/*
 * Nothing left for the loop to do: no dispatch due, no input unread, no output or close
 * pending, except output handed to libuv (and a graceful close waiting on it) for a peer that
 * does not read.
 */
static int daemon_idle(harness_t *h)
{
    if (h->d.dirty && !h->d.stopping) return 0; /* a stopping daemon dispatches nothing */
    for (session_t *s = h->d.sessions; s; s = s->next) {
        if (s->out.len > 0) return 0;
        if (!session_stalled(h, s) && (s->handle_closing || s->out_inflight > 0)) return 0;
        if (s->state == SESSION_CLOSED && !s->handle_closing) return 0;
        uv_os_fd_t fd;
        int unread = 0;
        if (s->state != SESSION_CLOSED && uv_fileno((uv_handle_t *)&s->pipe, &fd) == 0 &&
            ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)
            return 0;
    }
    return 1;
}

static void check_consistent(harness_t *h)
{
    daemon_t *d = &h->d;
    size_t busy = 0, held = 0, listed = 0, open = 0;
    for (size_t i = 0; i < d->ncores; i++) {
        task_t *t = sched_core_task(d->sched, i);
        int by = sched_core_held_by(d->sched, i);
        if (by >= 0) { /* held: by a CPU device with work in flight, and no body on it */
            held++;
            CHECK(t == NULL);
            CHECK((size_t)by < sched_ndevices(d->sched) && d->devices.list[by].cpu_device);
            CHECK(sched_device_in_flight(d->sched, (size_t)by) > 0);
            continue;
        }
        if (!t) continue;
        busy++;
        CHECK(t->state == TASK_RUNNING && t->kind == TASK_KIND_CPU);
        CHECK(session_listed(d, t->session));
        CHECK(t->session->state == SESSION_CLIENT);
    }
    CHECK(sched_free_cores(d->sched) == d->ncores - busy - held);
    for (size_t k = 0; k < sched_ndevices(d->sched); k++) {
        uint32_t in_flight = sched_device_in_flight(d->sched, k);
        CHECK(in_flight <= sched_device_max_in_flight(d->sched, k));
        if (d->devices.list[k].cpu_device)
            CHECK(!sched_device_cores_held(d->sched, k) == !in_flight);
        for (session_t *s = d->sessions; s; s = s->next)
            if (s->client)
                CHECK(sched_client_device_in_flight(s->client, k) <=
                      d->cfg.devices_max_per_session);
    }
    for (session_t *s = d->sessions; s; s = s->next) {
        listed++;
        CHECK(s->d == d);
        if (s->state != SESSION_CLOSED) open++;
        if (s->state == SESSION_CLIENT) {
            CHECK(s->client != NULL && s->deps != NULL);
            CHECK(s->live.count == s->submitted - s->done);
            CHECK(taskmap_count(&s->tasks) == s->live.count);
            CHECK(sched_client_running(s->client) + sched_client_ready(s->client) <= s->live.count);
        } else {
            CHECK(s->client == NULL && s->deps == NULL && s->live.count == 0);
        }
    }
    CHECK(d->nsessions_open == open);
    CHECK(listed <= h->opened);
}

/* Runs the loop until the daemon is idle, reading what it sends. */
static void pump(harness_t *h)
{
    for (unsigned round = 0;; round++) {
        CHECK(round < PUMP_MAX_ROUNDS); /* the daemon never went idle */
        uv_run(&h->loop, UV_RUN_NOWAIT);
        size_t got = drain_all(h);
        if (got == 0 && daemon_idle(h)) break;
    }
    check_consistent(h);
}

/* ---- writing as a client ---- */

static void conn_reset(conn_t *c)
{
    frame_reader_free(&c->in);
    free(c->granted);
    free(c->inflight);
    model_free(&c->model);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    frame_reader_init(&c->in, NODUS_MAX_FRAME);
    model_init(&c->model, (unsigned)fuzz_ncores);
    c->next_id = 1;
}

/* Opens slot c as a new connection; 0, or -1 when the input has opened enough already. */
static int conn_open(harness_t *h, conn_t *c)
{
    if (h->opened >= MAX_OPENED) return -1;
    if (h->d.stopping) return -1; /* its listener is closed */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    if (h->cfg & FUZZ_CFG_SMALL_BUFFERS) {
        int small = 1; /* the kernel rounds it up to its minimum, a few KiB */
        for (int i = 0; i < 2; i++) {
            setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
            setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        }
    }
    if (session_adopt_fd(&h->d, sv[1]) < 0) {
        close(sv[0]);
        close(sv[1]);
        CHECK(!"the daemon did not adopt a connected socket");
    }
    conn_reset(c);
    c->fd = sv[0];
    c->session_id = h->d.sessions->id; /* session_start links the new session first */
    h->opened++;
    return 0;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->stalled = 0;
}

static void conn_write(harness_t *h, conn_t *c, const uint8_t *p, size_t n)
{
    unsigned stalls = 0;
    if (c->fd < 0 || c->wr_shut || c->wr_dead) return;
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            model_sent(&c->model, p, (size_t)w);
            p += w;
            n -= (size_t)w;
            stalls = 0;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && ++stalls < WRITE_MAX_STALLS) {
            uv_run(&h->loop, UV_RUN_NOWAIT); /* let the daemon read */
            drain_all(h);
            continue;
        }
        c->gave_up = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        c->wr_dead = 1; /* EPIPE / ECONNRESET: the daemon closed the connection */
        return;
    }
}

static void conn_send(harness_t *h, conn_t *c, const Nodus__V1__Msg *m)
{
    frame_buf_t b;
    frame_buf_init(&b);
    CHECK(frame_buf_append(&b, m, NODUS_MAX_FRAME) == 0);
    conn_write(h, c, b.data, b.len);
    frame_buf_free(&b);
}

/*
 * Sends one Done for granted[idx .. idx + n) and forgets them; those granted on an OpenCL device
 * now wait for their DeviceDone.
 */
static void send_done(harness_t *h, conn_t *c, size_t idx, size_t n)
{
    uint64_t *ids = malloc(n * sizeof *ids);
    CHECK(ids != NULL);
    if (c->ninflight + n > c->inflight_cap) {
        size_t cap = c->inflight_cap ? c->inflight_cap : 16;
        while (cap < c->ninflight + n)
            cap *= 2;
        uint64_t *ni = realloc(c->inflight, cap * sizeof *ni);
        CHECK(ni != NULL);
        c->inflight = ni;
        c->inflight_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = c->granted[idx + i].id;
        if (c->granted[idx + i].opencl) c->inflight[c->ninflight++] = ids[i];
    }
    Nodus__V1__Done done = NODUS__V1__DONE__INIT;
    done.n_task_ids = n;
    done.task_ids = ids;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &done;
    conn_send(h, c, &m);
    free(ids);
    memmove(c->granted + idx, c->granted + idx + n, (c->ngranted - idx - n) * sizeof *c->granted);
    c->ngranted -= n;
}

/* Sends one DeviceDone for ids[0 .. n). */
static void send_device_done(harness_t *h, conn_t *c, uint64_t *ids, size_t n)
{
    Nodus__V1__DeviceDone dd = NODUS__V1__DEVICE_DONE__INIT;
    dd.n_task_ids = n;
    dd.task_ids = ids;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DEVICE_DONE;
    m.device_done = &dd;
    conn_send(h, c, &m);
}

/* Reports the device work of inflight[idx .. idx + n) complete and forgets them. */
static void send_inflight_done(harness_t *h, conn_t *c, size_t idx, size_t n)
{
    send_device_done(h, c, c->inflight + idx, n);
    memmove(c->inflight + idx, c->inflight + idx + n,
            (c->ninflight - idx - n) * sizeof *c->inflight);
    c->ninflight -= n;
}

/* One Submit of n tasks described by one byte each (fuzz_session.h). */
static void send_submit(harness_t *h, conn_t *c, const uint8_t *desc, size_t n)
{
    Nodus__V1__TaskSpec specs[256], *spec_ptrs[256];
    Nodus__V1__Access acc[256][2], *acc_ptrs[256][2];
    for (size_t i = 0; i < n; i++) {
        uint8_t b = desc[i];
        Nodus__V1__TaskSpec *t = &specs[i];
        nodus__v1__task_spec__init(t);
        t->id = c->next_id++;
        t->ncores = (b & 0x20) ? 2 : 1;
        t->priority = (b & 7u) == 7u ? 1 : 0;
        if (b & 0x40) /* offers OpenCL; with bit 5, OpenCL only */
            t->impls = (1u << NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL) |
                       ((b & 0x20) ? 0u : 1u << NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU);
        uint64_t addr = 0x1000u + 64u * (b & 7u);
        unsigned mode = (b >> 3) & 3u;
        for (size_t k = 0; k < 2; k++) {
            nodus__v1__access__init(&acc[i][k]);
            acc_ptrs[i][k] = &acc[i][k];
        }
        acc[i][0].addr = addr;
        acc[i][0].len = 64;
        acc[i][0].mode = mode == 1   ? NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT
                         : mode == 2 ? NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT
                                     : NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN;
        acc[i][1].addr = addr + 64;
        acc[i][1].len = 96;
        acc[i][1].mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT;
        t->n_accesses = (b & 0x80) ? 0 : mode == 3 ? 2 : 1;
        t->accesses = acc_ptrs[i];
        spec_ptrs[i] = t;
    }
    Nodus__V1__Submit sub = NODUS__V1__SUBMIT__INIT;
    sub.n_tasks = n;
    sub.tasks = spec_ptrs;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &sub;
    conn_send(h, c, &m);
}

static void send_hello(harness_t *h, conn_t *c, uint8_t bits)
{
    static const char *const jobs[] = {"j0", "j1", "j2", "j3"};
    Nodus__V1__Hello hl = NODUS__V1__HELLO__INIT;
    hl.min_version = NODUS_PROTO_VERSION_MIN;
    hl.max_version = NODUS_PROTO_VERSION_MAX;
    hl.role = (bits & FUZZ_HELLO_CTL) ? NODUS__V1__ROLE__ROLE_CTL : NODUS__V1__ROLE__ROLE_CLIENT;
    hl.job_name = (char *)jobs[(bits >> 1) & 3];
    hl.weight = bits >> 3;
    hl.client_name = "fuzz";
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_HELLO;
    m.hello = &hl;
    conn_send(h, c, &m);
}

static void send_wait(harness_t *h, conn_t *c, uint8_t w)
{
    static uint64_t token;
    Nodus__V1__Wait wt = NODUS__V1__WAIT__INIT;
    wt.token = ++token;
    if (w != FUZZ_WAIT_ALL) { /* a range: a slot, maybe shifted half a slot, 64 or 96 bytes */
        wt.addr = 0x1000u + 64u * (w & 7u) + ((w & 0x08) ? 32u : 0u);
        wt.len = (w & 0x10) ? 96 : 64;
    }
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WAIT;
    m.wait = &wt;
    conn_send(h, c, &m);
}

static void send_set_weight(harness_t *h, conn_t *c, uint8_t weight)
{
    Nodus__V1__SetWeight sw = NODUS__V1__SET_WEIGHT__INIT;
    sw.weight = weight;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SET_WEIGHT;
    m.set_weight = &sw;
    conn_send(h, c, &m);
}

static void send_status_request(harness_t *h, conn_t *c)
{
    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    m.status_request = &sr;
    conn_send(h, c, &m);
}

static void send_bye(harness_t *h, conn_t *c)
{
    Nodus__V1__Bye bye = NODUS__V1__BYE__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_BYE;
    m.bye = &bye;
    conn_send(h, c, &m);
}

/*
 * Every client answers all its grants until the daemon grants no more. Then, unless a
 * connection may hold cores it cannot give back (it does not read, the harness gave up writing
 * to it, or it is in the middle of a frame that swallows its Dones), every session the model
 * follows must have run all its tasks and answered all its Waits: nothing is lost or stuck.
 */
static void done_all(harness_t *h)
{
    for (unsigned round = 0;; round++) {
        CHECK(round < DONE_ALL_MAX_ROUNDS);
        pump(h);
        int sent = 0;
        for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++) {
            conn_t *c = &h->conns[i];
            if (c->fd < 0 || c->wr_dead || c->wr_shut) continue;
            if (c->ngranted > 0) {
                send_done(h, c, 0, c->ngranted);
                sent = 1;
            }
            if (c->ninflight > 0) { /* after the Done, as a client's event callback would */
                send_inflight_done(h, c, 0, c->ninflight);
                sent = 1;
            }
        }
        if (!sent) break;
    }
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++) {
        const conn_t *c = &h->conns[i];
        if (c->fd >= 0 && !c->eof && (c->stalled || c->gave_up || model_mid_frame(&c->model)))
            return;
    }
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++) {
        conn_t *c = &h->conns[i];
        if (c->fd < 0 || !c->welcomed || c->errored || c->eof || c->wr_shut || c->wr_dead) continue;
        const char *why = model_check_quiescent(&c->model);
        if (why) fail_model(why);
    }
}

/* An administrator's request on c (fuzz_session.h, ADMIN). */
static void send_admin(harness_t *h, conn_t *c, uint8_t a)
{
    Nodus__V1__DrainRequest drain = NODUS__V1__DRAIN_REQUEST__INIT;
    Nodus__V1__KillRequest kill = NODUS__V1__KILL_REQUEST__INIT;
    Nodus__V1__TraceStart start = NODUS__V1__TRACE_START__INIT;
    Nodus__V1__TraceStop stop = NODUS__V1__TRACE_STOP__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    switch (a & 3u) {
    case 0:
        m.body_case = NODUS__V1__MSG__BODY_DRAIN_REQUEST;
        m.drain_request = &drain;
        break;
    case 1:
        kill.session_id = ((a >> 2) & 3u) < FUZZ_SESSION_CONNS ? h->conns[(a >> 2) & 3u].session_id
                                                               : (uint64_t)(a >> 4);
        m.body_case = NODUS__V1__MSG__BODY_KILL_REQUEST;
        m.kill_request = &kill;
        break;
    case 2:
        start.capacity_events = (uint32_t)(a >> 2) * 512u;
        m.body_case = NODUS__V1__MSG__BODY_TRACE_START;
        m.trace_start = &start;
        break;
    default:
        m.body_case = NODUS__V1__MSG__BODY_TRACE_STOP;
        m.trace_stop = &stop;
        break;
    }
    conn_send(h, c, &m);
}

/* ---- one input ---- */

/* Builds the fake OpenCL devices dev_bits asks for (fuzz_session.h), as discovery would. */
static void fake_devices(devices_t *dv, uint8_t dev_bits, const nodus_config_t *cfg)
{
    memset(dv, 0, sizeof *dv);
    dv->n = FUZZ_DEV_COUNT(dev_bits);
    dv->slots = cfg->devices_slots;
    if (dv->n == 0) return;
    dv->list = calloc(dv->n, sizeof *dv->list);
    dv->info = calloc(dv->n, sizeof *dv->info);
    dv->info_ptrs = calloc(dv->n, sizeof *dv->info_ptrs);
    CHECK(dv->list && dv->info && dv->info_ptrs);
    for (size_t i = 0; i < dv->n; i++) {
        device_t *d = &dv->list[i];
        d->kind = NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
        snprintf(d->name, sizeof d->name, "fuzz device %zu", i);
        snprintf(d->vendor, sizeof d->vendor, "nodus");
        snprintf(d->platform, sizeof d->platform, "fuzz");
        d->platform_device = (uint32_t)i;
        d->memory = 1u << 30;
        d->discovery_index = (uint32_t)i;
        if (i == 0 && (dev_bits & FUZZ_DEV_CPU)) { /* holds the last core(s), as PoCL's would */
            size_t k = devices_cpu_device_cores(cfg->devices_opencl_cpu_cores, fuzz_ncores);
            d->cpu_device = 1;
            d->ncores = k;
            d->core_index = calloc(k ? k : 1, sizeof *d->core_index);
            d->cpus = calloc(k ? k : 1, sizeof *d->cpus);
            CHECK(d->core_index && d->cpus);
            for (size_t j = 0; j < k; j++) {
                d->core_index[j] = (uint32_t)(fuzz_ncores - k + j);
                d->cpus[j] = fuzz_cpus[fuzz_ncores - k + j];
            }
        }
        Nodus__V1__DeviceInfo *in = &dv->info[i];
        nodus__v1__device_info__init(in);
        in->index = (uint32_t)i;
        in->kind = NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
        in->name = d->name;
        in->vendor = d->vendor;
        in->memory = d->memory;
        in->slots = dv->slots;
        in->platform = d->platform;
        in->platform_device = d->platform_device;
        in->cpu_device = d->cpu_device != 0;
        in->n_cores = d->ncores;
        in->cores = d->cpus;
        dv->info_ptrs[i] = in;
    }
}

static void harness_init(harness_t *h, uint8_t cfg_bits, uint8_t dev_bits)
{
    memset(h, 0, sizeof *h);
    h->cfg = cfg_bits;
    h->dev_cfg = dev_bits;
    fuzz_ncores = (cfg_bits & FUZZ_CFG_THREE_CORES) ? 3 : 2;
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++) {
        frame_reader_init(&h->conns[i].in, NODUS_MAX_FRAME);
        model_init(&h->conns[i].model, (unsigned)fuzz_ncores);
        h->conns[i].fd = -1;
    }
    nodus_config_t cfg;
    config_defaults(&cfg);
    cfg.log_level = log_get_level();
    cfg.idle_exit_s = 0;
    if (cfg_bits & FUZZ_CFG_NO_LOOKAHEAD) cfg.lookahead = 0;
    if (cfg_bits & FUZZ_CFG_RESERVE_AT_ONCE) cfg.reserve_after_ms = 0;
    if (cfg_bits & FUZZ_CFG_FEW_OUTSTANDING) cfg.max_outstanding_tasks = 8;
    if (cfg_bits & FUZZ_CFG_ONE_SESSION_PER_USER) cfg.max_sessions_per_user = 1;
    cfg.trace_capacity = NODUS_MIN_TRACE_EVENTS; /* TraceStart's default ring, kept small */
    if (dev_bits & FUZZ_SVC_DRAIN_NOW) cfg.drain_timeout_s = 0;
    if (dev_bits & FUZZ_DEV_TIGHT) {
        cfg.devices_slots = 2;
        cfg.devices_max_in_flight = 2;
        cfg.devices_max_per_session = 1;
    }
    uint32_t *cpus = malloc(fuzz_ncores * sizeof *cpus);
    CHECK(cpus != NULL);
    memcpy(cpus, fuzz_cpus, fuzz_ncores * sizeof *cpus);
    /* the harness is not a service: SIGINT and SIGTERM stay libFuzzer's */
    struct sigaction old_int, old_term;
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    CHECK(uv_loop_init(&h->loop) == 0);
    devices_t devices;
    fake_devices(&devices, dev_bits, &cfg);
    fuzz_ndevices = devices.n;
    fuzz_slots = devices.slots;
    /* takes cpus and the devices */
    CHECK(daemon_init(&h->d, &h->loop, &cfg, cpus, fuzz_ncores, &devices) == 0);
    fuzz_device_ncpus = 0;
    if (h->d.devices.n > 0 && h->d.devices.list[0].cpu_device) {
        fuzz_device_cpus = h->d.devices.list[0].cpus;
        fuzz_device_ncpus = h->d.devices.list[0].ncores;
    }
    uv_signal_stop(&h->d.sig_int);
    uv_signal_stop(&h->d.sig_term);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    CHECK(uv_async_init(&h->loop, &h->listener, NULL) == 0);
    if (cfg_bits & FUZZ_CFG_TRACE) {
        h->d.trace = trace_open("/dev/null");
        CHECK(h->d.trace != NULL);
    }
}

static void harness_finish(harness_t *h)
{
    daemon_t *d = &h->d;
    int stop_first = (h->cfg & FUZZ_CFG_STOP_WITH_CLIENTS) != 0;
    if (stop_first) {
        /* SIGTERM with clients connected: every session is cut and the loop ends by itself */
        uv_close((uv_handle_t *)&h->listener, NULL);
        daemon_stop(d, "fuzz input done, clients connected");
        uv_run(&h->loop, UV_RUN_DEFAULT);
        drain_all(h);
    }
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++)
        conn_close(&h->conns[i]);
    if (!stop_first) pump(h);
    CHECK(d->sessions == NULL); /* no session leaked */
    CHECK(d->nsessions_open == 0);
    CHECK(sched_free_cores(d->sched) == d->ncores); /* every core came back */
    for (size_t k = 0; k < sched_ndevices(d->sched); k++)
        CHECK(sched_device_in_flight(d->sched, k) == 0 && !sched_device_cores_held(d->sched, k));
    CHECK(d->counters.sessions_total == h->opened);
    if (!stop_first) {
        uv_close((uv_handle_t *)&h->listener, NULL);
        daemon_stop(d, "fuzz input done");
        uv_run(&h->loop, UV_RUN_DEFAULT);
    }
    CHECK(uv_loop_close(&h->loop) == 0);
    daemon_free(d);
    for (size_t i = 0; i < FUZZ_SESSION_CONNS; i++) {
        frame_reader_free(&h->conns[i].in);
        free(h->conns[i].granted);
        free(h->conns[i].inflight);
        model_free(&h->conns[i].model);
    }
}

/* Whether op takes a one-byte operand (fuzz_session.h). */
static int op_has_arg(unsigned op)
{
    switch (op) {
    case FUZZ_OP_DONE:
    case FUZZ_OP_DONE_ONE:
    case FUZZ_OP_SUBMIT:
    case FUZZ_OP_HELLO:
    case FUZZ_OP_WAIT:
    case FUZZ_OP_SET_WEIGHT:
    case FUZZ_OP_DEVICE_DONE:
    case FUZZ_OP_ADMIN:
        return 1;
    default:
        return 0;
    }
}

/* Whether op writes to its connection (and so opens it when it is not open). */
static int op_writes(unsigned op)
{
    switch (op) {
    case FUZZ_OP_WRITE:
    case FUZZ_OP_SUBMIT:
    case FUZZ_OP_HELLO:
    case FUZZ_OP_WAIT:
    case FUZZ_OP_SET_WEIGHT:
    case FUZZ_OP_STATUS:
    case FUZZ_OP_BYE:
    case FUZZ_OP_ADMIN:
        return 1;
    default:
        return 0;
    }
}

/* Runs one record starting at data[*pos] (after its op byte). */
static void run_op(harness_t *h, unsigned op, conn_t *c, const uint8_t *data, size_t size,
                   size_t *pos)
{
    uint8_t arg = 0;
    if (op_has_arg(op) && *pos < size) arg = data[(*pos)++];
    if (trace_ops)
        fprintf(stderr, "op %u conn %ld arg %u (fd %d)\n", op, (long)(c - h->conns), arg, c->fd);
    /* the bytes a WRITE or SUBMIT carries, consumed whether or not they are sent */
    const uint8_t *payload = data + *pos;
    size_t len = 0;
    if (op == FUZZ_OP_WRITE) {
        if (size - *pos >= 2) {
            len = (size_t)data[*pos] | (size_t)data[*pos + 1] << 8;
            *pos += 2;
        } else {
            *pos = size;
        }
        payload = data + *pos;
    } else if (op == FUZZ_OP_SUBMIT) {
        len = arg ? arg : 1;
    }
    if (len > size - *pos) len = size - *pos;
    *pos += len;

    if (op == FUZZ_OP_PUMP) {
        pump(h);
        return;
    }
    /* only something a client writes opens (or reopens) a connection */
    if (c->fd < 0 && (!op_writes(op) || conn_open(h, c) < 0)) return;
    switch (op) {
    case FUZZ_OP_WRITE:
        conn_write(h, c, payload, len);
        break;
    case FUZZ_OP_SUBMIT:
        if (len > 0) send_submit(h, c, payload, len);
        break;
    case FUZZ_OP_DONE:
        pump(h);
        if (c->ngranted > 0)
            send_done(h, c, 0, arg == 0 ? 1 : arg < c->ngranted ? arg : c->ngranted);
        break;
    case FUZZ_OP_DONE_ONE:
        pump(h);
        if (c->ngranted > 0) send_done(h, c, arg % c->ngranted, 1);
        break;
    case FUZZ_OP_DONE_ALL:
        done_all(h);
        break;
    case FUZZ_OP_DEVICE_DONE:
        pump(h);
        if (c->ninflight > 0) {
            send_inflight_done(h, c, arg % c->ninflight, 1);
        } else if (c->ngranted > 0) { /* before its Done: a violation */
            uint64_t id = c->granted[arg % c->ngranted].id;
            send_device_done(h, c, &id, 1);
        }
        break;
    case FUZZ_OP_CLOSE:
        conn_close(c);
        break;
    case FUZZ_OP_SHUT_WR:
        if (!c->wr_shut) shutdown(c->fd, SHUT_WR);
        c->wr_shut = 1;
        break;
    case FUZZ_OP_HELLO:
        send_hello(h, c, arg);
        break;
    case FUZZ_OP_WAIT:
        send_wait(h, c, arg);
        break;
    case FUZZ_OP_SET_WEIGHT:
        send_set_weight(h, c, arg);
        break;
    case FUZZ_OP_STATUS:
        send_status_request(h, c);
        break;
    case FUZZ_OP_BYE:
        send_bye(h, c);
        break;
    case FUZZ_OP_STALL:
        c->stalled = !c->stalled;
        break;
    case FUZZ_OP_ADMIN:
        send_admin(h, c, arg);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static harness_t h;
    if (size < 2) return 0;
    harness_init(&h, data[0], data[1]);
    size_t pos = 2;
    while (pos < size) {
        uint8_t opb = data[pos++];
        run_op(&h, opb & 15u, &h.conns[(opb >> 4) % FUZZ_SESSION_CONNS], data, size, &pos);
    }
    harness_finish(&h);
    return 0;
}
