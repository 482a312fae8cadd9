/*
 * The daemon's device task protocol (daemon/session_device.c, docs/protocol.md), end to end: a
 * real nodusd on a private socket, spoken to over the raw wire protocol, so every message and
 * every rule is visible.
 *   - OpenCL on this machine's real CPU OpenCL device (PoCL; skipped without one): grant with
 *     kind/device/slot, the core freed at Done while successors wait, DeviceDone releasing them,
 *     the device's cores held in between, status and the V trace line;
 *   - CUDA through a stand-in libcuda.so.1 (fake_libcuda.c, on LD_LIBRARY_PATH): discovery into
 *     Welcome, IPC event handles opened once per pool entry and polled by the tracker, a Done
 *     without an event, events destroyed when the session ends;
 *   - the violations that drop a peer, and NODUS_ENOTSUP for a task no device can run.
 * With NODUS_TEST_VALGRIND set, each nodusd runs under valgrind and must exit clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "nodus.h"
#include "nodus_limits.h"

#define KIND_CPU  NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU
#define KIND_CUDA NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA
#define KIND_OCL  NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL

/* ---- a daemon and a raw peer ---- */

typedef struct fixture {
    char dir[40], sock[64], trace[64], cudalog[64];
    pid_t pid;
    int fd;
    frame_reader_t reader;
    Nodus__V1__Msg *welcome;
    uint64_t next_id;
    Nodus__V1__Msg *pending; /* a Grants message not yet fully consumed */
    size_t next;             /* its next grant */
} fixture_t;

/* Starts nodusd (2 cores) with `env` ("K=V" strings, NULL-terminated) and connects a client. */
static fixture_t *start(const char *const *env)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/nodus-sdev-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sock, sizeof f->sock, "%s/s", f->dir);
    snprintf(f->trace, sizeof f->trace, "%s/trace", f->dir);
    snprintf(f->cudalog, sizeof f->cudalog, "%s/cudalog", f->dir);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        char log[160];
        snprintf(log, sizeof log, "%s/log", f->dir);
        int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (lfd >= 0) {
            dup2(lfd, 1);
            dup2(lfd, 2);
        }
        unsetenv("LD_LIBRARY_PATH");
        unsetenv("NODUS_NO_DEVICES");
        unsetenv("NODUS_CONFIG_OVERRIDE");
        setenv("NODUS_CONFIG", "/dev/null", 1);
        setenv("NODUS_TRACE_GRANTS", f->trace, 1);
        setenv("FAKE_CUDA_LOG", f->cudalog, 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        if (getenv("NODUS_TEST_VALGRIND")) /* the daemon's own memory check: exit 9 on errors */
            execlp("valgrind", "valgrind", "-q", "--error-exitcode=9", "--leak-check=full",
                   "--errors-for-leak-kinds=definite,indirect", "--child-silent-after-fork=yes",
                   NODUSD, "--socket", f->sock, "--foreground", "--cores", "2", "--log-level",
                   "debug", (char *)NULL);
        else
            execl(NODUSD, "nodusd", "--socket", f->sock, "--foreground", "--cores", "2",
                  "--log-level", "debug", (char *)NULL);
        _exit(127);
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->sock);
    for (int tries = 0;; tries++) {
        f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->fd >= 0);
        if (connect(f->fd, (struct sockaddr *)&a, sizeof a) == 0) break;
        close(f->fd);
        assert_true(tries < 200); /* 10 s */
        usleep(50000);
    }
    frame_reader_init(&f->reader, NODUS_MAX_FRAME);
    f->next_id = 1;
    return f;
}

static void send_msg(fixture_t *f, const Nodus__V1__Msg *m)
{
    frame_buf_t b;
    frame_buf_init(&b);
    assert_int_equal(frame_buf_append(&b, m, NODUS_MAX_FRAME), 0);
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = send(f->fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        assert_true(w > 0);
        off += (size_t)w;
    }
    frame_buf_free(&b);
}

/* The next message within timeout_ms, or NULL (timeout or end of stream: *eof). */
static Nodus__V1__Msg *recv_msg(fixture_t *f, int timeout_ms, int *eof)
{
    if (eof) *eof = 0;
    for (;;) {
        const uint8_t *payload;
        size_t len;
        int k = frame_reader_next(&f->reader, &payload, &len);
        assert_true(k >= 0);
        if (k == 1) {
            Nodus__V1__Msg *m = frame_decode(payload, len);
            assert_non_null(m);
            return m;
        }
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr == 0) return NULL;
        assert_true(pr > 0);
        uint8_t *space;
        size_t avail;
        assert_int_equal(frame_reader_space(&f->reader, 65536, &space, &avail), 0);
        ssize_t r = recv(f->fd, space, avail, 0);
        if (r <= 0) {
            if (eof) *eof = 1;
            return NULL;
        }
        frame_reader_commit(&f->reader, (size_t)r);
    }
}

static Nodus__V1__Msg *expect_msg(fixture_t *f, Nodus__V1__Msg__BodyCase body)
{
    Nodus__V1__Msg *m = recv_msg(f, 5000, NULL);
    assert_non_null(m);
    if (m->body_case != body)
        fail_msg("expected body %d, got %d%s%s", body, m->body_case,
                 m->body_case == NODUS__V1__MSG__BODY_ERROR ? ": " : "",
                 m->body_case == NODUS__V1__MSG__BODY_ERROR ? m->error->message : "");
    return m;
}

static void hello(fixture_t *f)
{
    Nodus__V1__Hello h = NODUS__V1__HELLO__INIT;
    h.min_version = h.max_version = 1;
    h.role = NODUS__V1__ROLE__ROLE_CLIENT;
    h.job_name = "sdev";
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_HELLO;
    m.hello = &h;
    send_msg(f, &m);
    f->welcome = expect_msg(f, NODUS__V1__MSG__BODY_WELCOME);
}

/* Ends the daemon (SIGTERM) and checks it exits 0; frees everything but the directory. */
static void stop(fixture_t *f)
{
    if (f->fd >= 0) close(f->fd);
    kill(f->pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "cat %s/log >&2", f->dir);
        if (system(cmd) < 0) {
        }
        fail_msg("nodusd exited with status %d", status);
    }
    frame_reader_free(&f->reader);
    if (f->welcome) nodus__v1__msg__free_unpacked(f->welcome, NULL);
    if (f->pending) nodus__v1__msg__free_unpacked(f->pending, NULL);
}

static void cleanup(fixture_t *f)
{
    char cmd[120];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) < 0) {
    }
    free(f);
}

/* One task: id (next in sequence), one access (addr, mode) or none (addr 0), impls. */
static uint64_t submit(fixture_t *f, uint64_t addr, Nodus__V1__AccessMode mode, uint32_t impls)
{
    Nodus__V1__Access a = NODUS__V1__ACCESS__INIT;
    Nodus__V1__Access *ap = &a;
    a.addr = addr;
    a.len = 64;
    a.mode = mode;
    Nodus__V1__TaskSpec t = NODUS__V1__TASK_SPEC__INIT;
    t.id = f->next_id++;
    t.n_accesses = addr ? 1 : 0;
    t.accesses = &ap;
    t.impls = impls;
    t.label = "k";
    Nodus__V1__TaskSpec *tp = &t;
    Nodus__V1__Submit s = NODUS__V1__SUBMIT__INIT;
    s.n_tasks = 1;
    s.tasks = &tp;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &s;
    send_msg(f, &m);
    return t.id;
}

typedef struct grant {
    uint64_t id;
    uint32_t kind, device, slot, cpu;
} grant_t;

/* Waits for the grant of task `id` (other grants in between are an error). */
static grant_t expect_grant(fixture_t *f, uint64_t id)
{
    if (!f->pending) {
        f->pending = expect_msg(f, NODUS__V1__MSG__BODY_GRANTS);
        f->next = 0;
    }
    const Nodus__V1__Grant *g = f->pending->grants->grants[f->next++];
    grant_t out = {g->task_id, g->kind, g->device, g->slot, g->cores[0]};
    if (f->next == f->pending->grants->n_grants) {
        nodus__v1__msg__free_unpacked(f->pending, NULL);
        f->pending = NULL;
    }
    if (out.id != id)
        fail_msg("expected the grant of task %llu, got %llu", (unsigned long long)id,
                 (unsigned long long)out.id);
    return out;
}

static void expect_silence(fixture_t *f, int ms)
{
    assert_null(f->pending);
    Nodus__V1__Msg *m = recv_msg(f, ms, NULL);
    if (m) fail_msg("unexpected message (body %d)", m->body_case);
}

/* Done{id} with, for a CUDA task, an event (pool index; handle text or NULL for none). */
static void done(fixture_t *f, uint64_t id, int with_event, uint32_t pool, const char *handle)
{
    Nodus__V1__Done d = NODUS__V1__DONE__INIT;
    d.n_task_ids = 1;
    d.task_ids = &id;
    Nodus__V1__CudaEvent e = NODUS__V1__CUDA_EVENT__INIT;
    Nodus__V1__CudaEvent *ep = &e;
    uint8_t bytes[NODUS_CUDA_IPC_HANDLE_SIZE] = {0};
    if (with_event) {
        e.task_id = id;
        e.pool_index = pool;
        if (handle) {
            snprintf((char *)bytes, sizeof bytes, "%s", handle);
            e.ipc_handle.data = bytes;
            e.ipc_handle.len = sizeof bytes;
        }
        d.n_cuda_events = 1;
        d.cuda_events = &ep;
    }
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DONE;
    m.done = &d;
    send_msg(f, &m);
}

static void device_done(fixture_t *f, uint64_t id)
{
    Nodus__V1__DeviceDone d = NODUS__V1__DEVICE_DONE__INIT;
    d.n_task_ids = 1;
    d.task_ids = &id;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DEVICE_DONE;
    m.device_done = &d;
    send_msg(f, &m);
}

static void wait_all(fixture_t *f)
{
    Nodus__V1__Wait w = NODUS__V1__WAIT__INIT;
    w.token = 77;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_WAIT;
    m.wait = &w;
    send_msg(f, &m);
    Nodus__V1__Msg *r = expect_msg(f, NODUS__V1__MSG__BODY_WAIT_DONE);
    assert_int_equal(r->wait_done->token, 77);
    nodus__v1__msg__free_unpacked(r, NULL);
}

static Nodus__V1__Msg *status(fixture_t *f)
{
    Nodus__V1__StatusRequest sr = NODUS__V1__STATUS_REQUEST__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_STATUS_REQUEST;
    m.status_request = &sr;
    send_msg(f, &m);
    return expect_msg(f, NODUS__V1__MSG__BODY_STATUS_REPLY);
}

static void bye(fixture_t *f)
{
    Nodus__V1__Bye b = NODUS__V1__BYE__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_BYE;
    m.bye = &b;
    send_msg(f, &m);
    int eof;
    assert_null(recv_msg(f, 5000, &eof));
    assert_true(eof);
}

/* The peer is dropped with Error{code}. */
static void expect_error(fixture_t *f, int code, const char *text)
{
    Nodus__V1__Msg *m = expect_msg(f, NODUS__V1__MSG__BODY_ERROR);
    assert_int_equal(m->error->code, code);
    if (text && !strstr(m->error->message, text))
        fail_msg("error \"%s\" lacks \"%s\"", m->error->message, text);
    nodus__v1__msg__free_unpacked(m, NULL);
    int eof;
    assert_null(recv_msg(f, 5000, &eof));
    assert_true(eof);
}

/* The index of the first Welcome device of `kind` (CPU device if cpu), or -1. */
static int find_device(const fixture_t *f, uint32_t kind, int cpu)
{
    const Nodus__V1__Welcome *w = f->welcome->welcome;
    for (size_t i = 0; i < w->n_devices; i++)
        if (w->devices[i]->kind == (Nodus__V1__DeviceKind)kind &&
            (!cpu || w->devices[i]->cpu_device))
            return (int)i;
    return -1;
}

static void touch(const fixture_t *f, const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
}

/* Line number (from 0) of the first trace line "<kind> <ns> <session> <task> <x>", or -1. */
static int trace_find(const char *path, char kind, uint64_t task, uint64_t x)
{
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char k;
    unsigned long long ns, sess, t, v;
    int line = 0, found = -1;
    while (fscanf(in, " %c %llu %llu %llu %llu", &k, &ns, &sess, &t, &v) == 5) {
        if (found < 0 && k == kind && t == task && v == x) found = line;
        line++;
    }
    fclose(in);
    return found;
}

static char *slurp(const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in) return strdup("");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    return strdup(buf);
}

/* ---- OpenCL, on the real CPU OpenCL device ---- */

static void test_opencl_lifecycle(void **state)
{
    (void)state;
    fixture_t *f = start(NULL);
    hello(f);
    int dev = find_device(f, KIND_OCL, 1);
    if (dev < 0) {
        bye(f);
        stop(f);
        cleanup(f);
        skip(); /* no CPU OpenCL device on this machine */
        return;
    }
    const Nodus__V1__DeviceInfo *info = f->welcome->welcome->devices[dev];
    assert_int_equal(info->index, (uint32_t)dev);
    assert_int_equal(info->n_cores, 1); /* half of 2 cores */
    assert_int_equal(info->slots, 4);
    assert_true(info->platform && info->platform[0]);
    uint32_t held = info->cores[0];

    uint64_t k = submit(f, 0x1000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1u << KIND_OCL);
    uint64_t succ = submit(f, 0x1000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 0);
    uint64_t other = submit(f, 0, 0, 0);
    grant_t g = expect_grant(f, k);
    assert_int_equal(g.kind, KIND_OCL);
    assert_int_equal(g.device, (uint32_t)dev);
    assert_true(g.slot < 4);
    assert_int_not_equal(g.cpu, held); /* the body never runs on the device's cores */
    /* one core runs the body, the other is held: nothing else runs yet */
    expect_silence(f, 100);
    Nodus__V1__Msg *st = status(f);
    const Nodus__V1__StatusReply *r = st->status_reply;
    assert_int_equal(r->n_devices, f->welcome->welcome->n_devices);
    assert_int_equal(r->devices[dev]->in_flight, 1);
    assert_true(r->devices[dev]->cores_held);
    assert_int_equal(r->devices[dev]->n_sessions, 1);
    assert_int_equal(r->devices[dev]->sessions[0]->session_id, f->welcome->welcome->session_id);
    for (size_t i = 0; i < r->n_cores; i++)
        if (r->cores[i]->cpu == held) {
            assert_true(r->cores[i]->busy);
            assert_int_equal(r->cores[i]->session_id, 0);
        }
    nodus__v1__msg__free_unpacked(st, NULL);

    /* the body returns: its core runs the independent task; the successor waits */
    done(f, k, 0, 0, NULL);
    grant_t g2 = expect_grant(f, other);
    assert_int_equal(g2.kind, KIND_CPU);
    assert_int_equal(g2.cpu, g.cpu);
    expect_silence(f, 150);
    st = status(f);
    r = st->status_reply;
    assert_int_equal(r->n_sessions, 1);
    assert_int_equal(r->sessions[0]->device, 1);
    assert_int_equal(r->sessions[0]->running, 1);
    assert_true(r->devices[dev]->cores_held);
    nodus__v1__msg__free_unpacked(st, NULL);

    /* the kernel completes: the successor runs, the held core is free again */
    device_done(f, k);
    grant_t g3 = expect_grant(f, succ);
    assert_int_equal(g3.kind, KIND_CPU);
    assert_int_equal(g3.cpu, held);
    st = status(f);
    r = st->status_reply;
    assert_int_equal(r->devices[dev]->in_flight, 0);
    assert_false(r->devices[dev]->cores_held);
    assert_int_equal(r->devices[dev]->completed, 1);
    assert_int_equal(r->sessions[0]->device, 0);
    nodus__v1__msg__free_unpacked(st, NULL);
    done(f, other, 0, 0, NULL);
    done(f, succ, 0, 0, NULL);
    wait_all(f);
    bye(f);
    stop(f);

    /* the trace: body done (D), then kernel done (V), then the successor's grant (G) */
    int d = trace_find(f->trace, 'D', k, g.cpu);
    int v = trace_find(f->trace, 'V', k, (uint64_t)dev);
    int gs = trace_find(f->trace, 'G', succ, held);
    assert_true(d >= 0 && v > d && gs > v);
    cleanup(f);
}

static void test_opencl_violations(void **state)
{
    (void)state;
    /* DeviceDone before Done */
    fixture_t *f = start(NULL);
    hello(f);
    int dev = find_device(f, KIND_OCL, 0);
    if (dev < 0) {
        bye(f);
        stop(f);
        cleanup(f);
        skip();
        return;
    }
    uint64_t k = submit(f, 0, 0, 1u << KIND_OCL);
    expect_grant(f, k);
    device_done(f, k);
    expect_error(f, NODUS_EPROTO, "not in flight on an OpenCL device");
    stop(f);
    cleanup(f);

    /* DeviceDone for a CPU task, and twice for one kernel */
    f = start(NULL);
    hello(f);
    k = submit(f, 0, 0, 1u << KIND_OCL);
    expect_grant(f, k);
    done(f, k, 0, 0, NULL);
    device_done(f, k);
    uint64_t c = submit(f, 0, 0, 0);
    expect_grant(f, c);
    done(f, c, 0, 0, NULL);
    wait_all(f); /* everything completed */
    device_done(f, k);
    expect_error(f, NODUS_EPROTO, NULL);
    stop(f);
    cleanup(f);

    f = start(NULL);
    hello(f);
    c = submit(f, 0, 0, 0);
    expect_grant(f, c);
    done(f, c, 0, 0, NULL);
    device_done(f, c);
    expect_error(f, NODUS_EPROTO, NULL);
    stop(f);
    cleanup(f);
}

/* Without devices: a task that can only run on one is refused; one that may use the CPU runs. */
static void test_no_devices(void **state)
{
    (void)state;
    static const char *const env[] = {"NODUS_NO_DEVICES=1", NULL};
    fixture_t *f = start(env);
    hello(f);
    assert_int_equal(f->welcome->welcome->n_devices, 0);
    uint64_t t = submit(f, 0, 0, (1u << KIND_CPU) | (1u << KIND_OCL) | (1u << KIND_CUDA));
    grant_t g = expect_grant(f, t);
    assert_int_equal(g.kind, KIND_CPU);
    done(f, t, 0, 0, NULL);
    wait_all(f);
    submit(f, 0, 0, 1u << KIND_OCL);
    expect_error(f, NODUS_ENOTSUP, "no device for this task");
    stop(f);
    cleanup(f);
}

/* ---- CUDA, through the stand-in driver ---- */

static fixture_t *start_fake_cuda(void)
{
    static char ld[300];
    snprintf(ld, sizeof ld, "LD_LIBRARY_PATH=%s", FAKE_CUDA_DIR);
    static const char *env[] = {ld, "NODUS_CONFIG_OVERRIDE=devices.opencl=no", NULL};
    fixture_t *f = start(env);
    hello(f);
    const Nodus__V1__Welcome *w = f->welcome->welcome;
    assert_int_equal(w->n_devices, 1);
    const Nodus__V1__DeviceInfo *d = w->devices[0];
    assert_int_equal(d->index, 0);
    assert_int_equal(d->kind, KIND_CUDA);
    assert_string_equal(d->name, "Fake CUDA Device 0");
    assert_int_equal(d->memory, UINT64_C(1) << 30);
    assert_int_equal(d->uuid.len, 16);
    assert_int_equal(d->uuid.data[0], 0x10);
    assert_int_equal(d->uuid.data[15], 0x1f);
    assert_int_equal(d->n_cores, 0);
    assert_false(d->cpu_device);
    return f;
}

static void test_cuda_events(void **state)
{
    (void)state;
    fixture_t *f = start_fake_cuda();
    char ev0[160], ev1[160];
    snprintf(ev0, sizeof ev0, "%s/ev0", f->dir);
    snprintf(ev1, sizeof ev1, "%s/ev1", f->dir);

    /* a kernel and its successor: the successor waits for the event, not for Done */
    uint64_t k = submit(f, 0x1000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1u << KIND_CUDA);
    uint64_t s = submit(f, 0x1000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 0);
    grant_t g = expect_grant(f, k);
    assert_int_equal(g.kind, KIND_CUDA);
    assert_int_equal(g.device, 0);
    done(f, k, 1, 0, ev0);
    expect_silence(f, 150);
    Nodus__V1__Msg *st = status(f);
    assert_int_equal(st->status_reply->sessions[0]->device, 1);
    assert_int_equal(st->status_reply->devices[0]->in_flight, 1);
    nodus__v1__msg__free_unpacked(st, NULL);
    touch(f, "ev0");
    expect_grant(f, s);
    done(f, s, 0, 0, NULL);

    /* a CUDA task whose Done has no event completes when its body returned */
    k = submit(f, 0x2000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1u << KIND_CUDA);
    s = submit(f, 0x2000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 0);
    expect_grant(f, k);
    done(f, k, 0, 0, NULL);
    expect_grant(f, s);
    done(f, s, 0, 0, NULL);

    /* pool entry 0 again, without its handle: the cached event (complete) is used */
    k = submit(f, 0x3000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1u << KIND_CUDA);
    s = submit(f, 0x3000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 0);
    expect_grant(f, k);
    done(f, k, 1, 0, NULL);
    expect_grant(f, s);
    done(f, s, 0, 0, NULL);
    wait_all(f);

    /* a kernel still in flight when the session ends */
    k = submit(f, 0, 0, 1u << KIND_CUDA);
    expect_grant(f, k);
    done(f, k, 1, 1, ev1);
    expect_silence(f, 50);
    st = status(f);
    assert_int_equal(st->status_reply->devices[0]->completed, 3);
    assert_int_equal(st->status_reply->devices[0]->in_flight, 1);
    nodus__v1__msg__free_unpacked(st, NULL);
    bye(f);
    stop(f);

    /* each handle opened once, each event destroyed */
    char *log = slurp(f->cudalog);
    char want[200];
    const char *lines[] = {"open", "destroy"};
    const char *paths[] = {ev0, ev1};
    for (int i = 0; i < 2; i++)
        for (int p = 0; p < 2; p++) {
            snprintf(want, sizeof want, "%s %s\n", lines[i], paths[p]);
            char *at = strstr(log, want);
            if (!at) fail_msg("fake CUDA log lacks \"%s\":\n%s", want, log);
            assert_null(strstr(at + 1, want)); /* once */
        }
    free(log);
    cleanup(f);
}

static void test_cuda_violations(void **state)
{
    (void)state;
    /* an event for a pool entry whose handle was never sent */
    fixture_t *f = start_fake_cuda();
    uint64_t k = submit(f, 0, 0, 1u << KIND_CUDA);
    expect_grant(f, k);
    done(f, k, 1, 5, NULL);
    expect_error(f, NODUS_EPROTO, "never sent");
    stop(f);
    cleanup(f);

    /* an event for a CPU task */
    f = start_fake_cuda();
    k = submit(f, 0, 0, 0);
    expect_grant(f, k);
    done(f, k, 1, 0, "/nonexistent");
    expect_error(f, NODUS_EPROTO, "cuda event");
    stop(f);
    cleanup(f);

    /* a handle the driver cannot open */
    f = start_fake_cuda();
    k = submit(f, 0, 0, 1u << KIND_CUDA);
    expect_grant(f, k);
    done(f, k, 1, 0, "FAIL");
    expect_error(f, NODUS_EIO, "cannot open");
    stop(f);
    cleanup(f);

    /* an event whose query fails: its task completes rather than hanging */
    f = start_fake_cuda();
    k = submit(f, 0x1000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_OUT, 1u << KIND_CUDA);
    uint64_t s = submit(f, 0x1000, NODUS__V1__ACCESS_MODE__ACCESS_MODE_IN, 0);
    expect_grant(f, k);
    done(f, k, 1, 0, "ERROR:x");
    expect_grant(f, s);
    done(f, s, 0, 0, NULL);
    wait_all(f);
    bye(f);
    stop(f);
    cleanup(f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opencl_lifecycle), cmocka_unit_test(test_opencl_violations),
        cmocka_unit_test(test_no_devices),       cmocka_unit_test(test_cuda_events),
        cmocka_unit_test(test_cuda_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
