/*
 * Session life cycle: nodus_open() (connect, handshake, start the comm thread), nodus_close()
 * (wait, Bye, join every thread, free), and the small public accessors.
 *
 * Environment: $NODUS_WEIGHT (initial job weight), $NODUS_MAX_OUTSTANDING (back-pressure bound,
 * default 1000000 tasks), $NODUS_SPIN_US and $NODUS_COMM_SPIN_US (how long an idle worker, and
 * the comm thread, poll for work before they sleep; default 50 each, 0 disables), $NODUS_DEBUG
 * (print why a session broke on stderr), $NODUS_RECONNECT_TIMEOUT (seconds, fractions allowed,
 * that recovery after a daemon crash may spend; default 30, 0 disables: reconnect.c). Discovery
 * variables: conn.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "comm.h"
#include "conn.h"
#include "internal.h"
#include "nodus_limits.h"
#include "replay.h"
#include "submit.h"
#include "threadlibs.h"
#include "wait.h"
#include "worker.h"

#define DEFAULT_MAX_OUTSTANDING 1000000u
#define DEFAULT_SPIN_US         50u
#define DEFAULT_RECONNECT_MS    30000u
#define MAX_RECONNECT_MS        (24u * 3600u * 1000u)

atomic_uint session_fork_generation;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&session_fork_generation, 1);
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

size_t name_copy(char *dst, const char *src)
{
    size_t n = strnlen(src, NODUS_MAX_NAME + 1);
    if (n > NODUS_MAX_NAME) {
        n = NODUS_MAX_NAME;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    dst[n] = '\0';
    return n;
}

int error_from_wire(int32_t code)
{
    switch (code) {
#define NODUS_X_CASE(name, value, msg)                                                             \
    case (value):                                                                                  \
        return (value);
        NODUS_ERROR_LIST(NODUS_X_CASE)
#undef NODUS_X_CASE
    default:
        return NODUS_EPROTO;
    }
}

void session_fail(nodus_t *n, int code)
{
    int expected = 0;
    atomic_compare_exchange_strong(&n->error, &expected, code < 0 ? code : NODUS_EPROTO);
    pthread_mutex_lock(&n->lock);
    pthread_cond_broadcast(&n->wait_cv);
    pthread_cond_broadcast(&n->space_cv);
    pthread_mutex_unlock(&n->lock);
}

/* An unsigned environment setting, or `def` when unset or malformed; capped at `max`. */
static uint64_t env_uint(const char *name, uint64_t def, uint64_t max)
{
    const char *s = getenv(name);
    if (!s || !*s) return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-') return def;
    return v > max ? max : v;
}

/* $NODUS_RECONNECT_TIMEOUT in milliseconds: seconds, fractions allowed; malformed: the default. */
static uint64_t env_reconnect_ms(void)
{
    const char *s = getenv("NODUS_RECONNECT_TIMEOUT");
    if (!s || !*s) return DEFAULT_RECONNECT_MS;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0)) return DEFAULT_RECONNECT_MS;
    return v * 1000.0 > MAX_RECONNECT_MS ? MAX_RECONNECT_MS : (uint64_t)(v * 1000.0 + 0.5);
}

static char *opt_strdup(const char *s, bool *failed)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *failed = true;
    return d;
}

/* Frees whatever nodus_open() got to set up; threads must be stopped. */
static void session_free(nodus_t *n)
{
    if (n->workers) {
        for (size_t i = 0; i < n->ncpus; i++)
            worker_destroy(&n->workers[i]);
        free(n->workers);
    }
    /* after the workers (no body runs, no marker is enqueued), before the descriptors close:
     * a pending marker callback still queues its DeviceDone and writes wake_fd */
    device_session_close(n);
    comm_destroy(n);
    replay_close(n);
    free(n->socket_path);
    free(n->job);
    if (n->fd >= 0) close(n->fd);
    if (n->wake_fd >= 0) close(n->wake_fd);
    submit_buf_free(&n->pending);
    table_free(&n->table);
    free(n->done_ids);
    free(n->cuda_done);
    free(n->device_done_ids);
    devices_free(n->devices, n->ndevices);
    free(n->cpus);
    free(n->cpu_worker);
    pthread_cond_destroy(&n->space_cv);
    pthread_cond_destroy(&n->wait_cv);
    pthread_mutex_destroy(&n->done_lock);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

/* Builds the CPU-id -> worker map and the workers (threads start on first grant). */
static int session_cores(nodus_t *n)
{
    uint32_t max_cpu = 0;
    for (size_t i = 0; i < n->ncpus; i++)
        if (n->cpus[i] > max_cpu) max_cpu = n->cpus[i];
    n->cpu_worker_len = (size_t)max_cpu + 1;
    n->cpuset_size = CPU_ALLOC_SIZE(n->cpu_worker_len);
    n->cpu_worker = malloc(n->cpu_worker_len * sizeof *n->cpu_worker);
    n->workers = calloc(n->ncpus, sizeof *n->workers);
    if (!n->cpu_worker || !n->workers) return NODUS_ENOMEM;
    for (size_t i = 0; i < n->cpu_worker_len; i++)
        n->cpu_worker[i] = -1;
    for (size_t i = 0; i < n->ncpus; i++) {
        n->cpu_worker[n->cpus[i]] = (int32_t)i;
        if (worker_init(&n->workers[i], n, n->cpus[i]) < 0) {
            /* destroy only the initialised ones */
            for (size_t j = 0; j < i; j++)
                worker_destroy(&n->workers[j]);
            free(n->workers);
            n->workers = NULL;
            return NODUS_ENOMEM;
        }
    }
    return 0;
}

NODUS_EXPORT int nodus_open(nodus_t **out, const char *job, const char *socket_path)
{
    if (!out) return NODUS_EINVAL;
    *out = NULL;
    pthread_once(&atfork_once, atfork_register);
    nodus_t *n = calloc(1, sizeof *n);
    if (!n) return NODUS_ENOMEM;
    n->fork_generation = atomic_load(&session_fork_generation);
    n->fd = -1;
    n->wake_fd = -1;
    n->next_id = 1;
    atomic_init(&n->error, 0);
    atomic_init(&n->comm_idle, false);
    atomic_init(&n->work_hint, false);
    pthread_mutex_init(&n->lock, NULL);
    pthread_mutex_init(&n->done_lock, NULL);
    pthread_cond_init(&n->wait_cv, NULL);
    pthread_cond_init(&n->space_cv, NULL);
    submit_buf_init(&n->pending);
    table_init(&n->table);
    pthread_sigmask(SIG_SETMASK, NULL, &n->host_sigmask);
    n->max_outstanding = env_uint("NODUS_MAX_OUTSTANDING", DEFAULT_MAX_OUTSTANDING, UINT64_MAX);
    if (n->max_outstanding == 0) n->max_outstanding = DEFAULT_MAX_OUTSTANDING;
    n->spin_ns = env_uint("NODUS_SPIN_US", DEFAULT_SPIN_US, 1000000u) * 1000u;
    n->comm_spin_ns = env_uint("NODUS_COMM_SPIN_US", DEFAULT_SPIN_US, 1000000u) * 1000u;
    n->debug = getenv("NODUS_DEBUG") != NULL;
    n->reconnect_ms = env_reconnect_ms();
    uint32_t weight = (uint32_t)env_uint("NODUS_WEIGHT", 0, NODUS_MAX_WEIGHT);
    n->weight = weight;
    atomic_init(&n->epoch, 0);
    atomic_init(&n->reconnects, 0);
    bool copy_failed = false;
    n->socket_path = opt_strdup(socket_path, &copy_failed);
    n->job = opt_strdup(job, &copy_failed);
    if (copy_failed || replay_open(n) < 0) {
        session_free(n);
        return NODUS_ENOMEM;
    }

    frame_reader_t reader;
    frame_reader_init(&reader, NODUS_MAX_FRAME);
    conn_welcome_t welcome = {0};
    int rc = conn_connect(socket_path, &n->fd);
    if (rc == 0) rc = conn_handshake(n->fd, job, weight, &reader, &welcome);
    if (rc == 0) {
        atomic_store(&n->session_id, welcome.session_id);
        n->cpus = welcome.cpus;
        n->ncpus = welcome.ncpus;
        n->max_frame = welcome.max_frame;
        n->max_tasks_per_submit = welcome.max_tasks_per_submit;
        n->devices = welcome.devices;
        n->ndevices = welcome.ndevices;
        rc = session_cores(n);
    }
    /* before the first thread of the session: PoCL's environment is set here */
    if (rc == 0) rc = device_session_open(n);
    if (rc == 0) threadlibs_hold(); /* OpenBLAS: one thread per task (threadlibs.c) */
    if (rc == 0) {
        n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        int fl = fcntl(n->fd, F_GETFL);
        if (n->wake_fd < 0 || fl < 0 || fcntl(n->fd, F_SETFL, fl | O_NONBLOCK) < 0) rc = NODUS_EIO;
    }
    if (rc == 0) rc = comm_start(n, &reader);
    frame_reader_free(&reader); /* empty if comm_start took it */
    if (rc < 0) {
        session_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

NODUS_EXPORT int nodus_close(nodus_t *n)
{
    if (!n) return NODUS_EINVAL;
    if (worker_in_task_of(n)) return NODUS_ESTATE;
    if (atomic_load(&session_fork_generation) != n->fork_generation) {
        /* a forked child: the session's threads live in the parent and its locks may be held
         * there, so only drop our copies of the descriptors (the parent's stay open) */
        close(n->fd);
        close(n->wake_fd);
        return NODUS_ECLOSED;
    }
    int rc = wait_tasks(n, 0, 0);
    int err = session_error(n);
    if (err < 0) rc = err; /* the first error wins over what the wait saw */

    /* errors from here on (a daemon gone before our Bye) do not concern the caller */
    pthread_mutex_lock(&n->lock);
    n->closing = true;
    pthread_mutex_unlock(&n->lock);
    comm_wake(n);
    comm_join(n);
    session_free(n); /* joins the workers, after the bodies they run return */
    return rc;
}

NODUS_EXPORT int nodus_set_weight(nodus_t *n, unsigned weight)
{
    if (!n || weight == 0) return NODUS_EINVAL;
    int rc = session_error(n);
    if (rc < 0) return rc;
    pthread_mutex_lock(&n->lock);
    n->weight_to_send = weight > NODUS_MAX_WEIGHT ? NODUS_MAX_WEIGHT : weight;
    n->weight = n->weight_to_send; /* a reconnect's Hello asks for it again */
    pthread_mutex_unlock(&n->lock);
    comm_wake(n);
    return 0;
}

NODUS_EXPORT int nodus_num_cores(const nodus_t *n)
{
    return n ? (int)n->ncpus : NODUS_EINVAL;
}

NODUS_EXPORT uint64_t nodus_session_id(const nodus_t *n)
{
    return n ? atomic_load(&((nodus_t *)n)->session_id) : 0;
}
