/*
 * Recovery after the daemon was lost (see reconnect.h).
 *
 * The order matters. First every body handed to a worker must be accounted for: a body already
 * running finishes (it is code in this process; the daemon's death does not stop it) and is
 * completed here, while a grant still queued in a worker's mailbox is not started at all (its
 * epoch is old, worker.c) and goes back to SUBMITTED, so no body of the old session starts on a
 * core the next daemon may give to someone else. Then device work in flight is confirmed in this
 * process: OpenCL by libnodus's own marker callbacks, CUDA by querying the events it recorded.
 * Only when nothing of the old session is in flight does the client say Hello again, so every
 * task is then either complete (its effects are in memory: it is not sent again) or never
 * started (resubmitted with its original accesses, which rebuilds exactly the dependencies among
 * the remaining tasks). Device work not confirmed within the budget is a lost outcome: re-run if
 * every such task is idempotent, else NODUS_ELOST.
 */
#include "reconnect.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "cuda_dev.h"
#include "replay.h"

#define BACKOFF_MIN_MS  10u
#define BACKOFF_MAX_MS  1000u
#define BARRIER_POLL_MS 10u

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void debug_say(const nodus_t *n, const char *what, int code)
{
    if (n->debug)
        fprintf(stderr, "libnodus: session %llu: %s (%s)\n",
                (unsigned long long)atomic_load(&((nodus_t *)n)->session_id), what,
                nodus_strerror(code));
}

/* Sleeps up to `ms`, or less when a producer wakes the comm thread (a completion, close). */
static void comm_nap(nodus_t *n, unsigned ms)
{
    atomic_store(&n->comm_idle, true);
    atomic_thread_fence(memory_order_seq_cst);
    struct pollfd p = {.fd = n->wake_fd, .events = POLLIN};
    if (!atomic_exchange(&n->work_hint, false)) (void)poll(&p, 1, (int)ms);
    atomic_store(&n->comm_idle, false);
    uint64_t count;
    ssize_t r = read(n->wake_fd, &count, sizeof count);
    (void)r; /* EAGAIN: nothing to drain */
}

/* Takes what bodies and device callbacks reported and completes it here, telling no daemon. */
static void complete_locally(nodus_t *n, done_batch_t *b)
{
    done_batch_take(n, b);
    (void)done_batch_pack(n, b, NULL); /* no output: cannot fail */
}

bool reconnect_may_rerun(task_entry_state_t state, bool idempotent)
{
    /* a task that never started is resubmitted by the replay, not judged here; one that started
     * and whose outcome is unknown may only run again if running it twice is harmless */
    return state == TASK_ENTRY_SUBMITTED || idempotent;
}

typedef struct lost_count {
    size_t lost, fatal;
} lost_count_t;

static void count_lost(nodus_t *n, task_entry_t *e, uint64_t id, void *data)
{
    (void)n;
    (void)id;
    lost_count_t *c = data;
    if (e->state != TASK_ENTRY_DEVICE) return;
    c->lost++;
    if (!reconnect_may_rerun((task_entry_state_t)e->state, e->idempotent)) c->fatal++;
}

static void rerun_lost(nodus_t *n, task_entry_t *e, uint64_t id, void *data)
{
    (void)id;
    (void)data;
    /* its marker callback, should it still come, belongs to an older run and is ignored */
    if (e->state == TASK_ENTRY_DEVICE) session_task_state(n, e, TASK_ENTRY_SUBMITTED);
}

/* Waits until no body of the old connection runs and its device work is confirmed (or lost). */
static int settle(nodus_t *n, done_batch_t *b, uint64_t deadline)
{
    for (;;) {
        complete_locally(n, b);
        pthread_mutex_lock(&n->lock);
        uint64_t body = n->in_body;
        pthread_mutex_unlock(&n->lock);
        if (body == 0) break;
        comm_nap(n, BARRIER_POLL_MS); /* bodies run as long as they run */
    }
    /* CUDA tasks are forgotten at their Done: their events are all that is left of them */
    int rc = cuda_session_quiesce(n, deadline);
    if (rc < 0) {
        debug_say(
            n, "CUDA work of a finished body could not be confirmed after the daemon was lost", rc);
        return rc == NODUS_EIO ? rc : NODUS_ELOST;
    }
    for (;;) {
        complete_locally(n, b);
        pthread_mutex_lock(&n->lock);
        uint64_t device = n->in_device;
        lost_count_t lost = {0, 0};
        if (device && now_ms() >= deadline) {
            replay_foreach_locked(n, count_lost, &lost);
            if (lost.fatal == 0) replay_foreach_locked(n, rerun_lost, NULL);
        }
        pthread_mutex_unlock(&n->lock);
        if (lost.fatal) {
            debug_say(n,
                      "device work of a started task was not confirmed after the daemon was lost",
                      NODUS_ELOST);
            return NODUS_ELOST;
        }
        if (device == 0 || lost.lost) return 0;
        comm_nap(n, BARRIER_POLL_MS);
    }
}

/* Refusals worth another try: nobody listens yet, or a daemon still starting or stopping. */
static bool retryable(int rc)
{
    return rc == NODUS_ECONNECT || rc == NODUS_ESPAWN || rc == NODUS_ECLOSED ||
           rc == NODUS_ETIMEDOUT || rc == NODUS_EDRAINING || rc == NODUS_ELIMIT || rc == NODUS_EIO;
}

/* The new daemon must own the same cores and devices: workers and device state are keyed by
 * them. */
static int welcome_check(const nodus_t *n, const conn_welcome_t *w)
{
    if (w->ncpus != n->ncpus || w->ndevices != n->ndevices) return NODUS_ENOTSUP;
    for (size_t i = 0; i < w->ncpus; i++)
        if (w->cpus[i] >= n->cpu_worker_len || n->cpu_worker[w->cpus[i]] < 0) return NODUS_ENOTSUP;
    for (size_t i = 0; i < w->ndevices; i++)
        if (w->devices[i].kind != n->devices[i].kind || w->devices[i].slots != n->devices[i].slots)
            return NODUS_ENOTSUP;
    return 0;
}

static bool closing(nodus_t *n)
{
    pthread_mutex_lock(&n->lock);
    bool c = n->closing;
    pthread_mutex_unlock(&n->lock);
    return c;
}

/* One connection attempt: connect, Hello, Welcome check. */
static int attempt(nodus_t *n, frame_reader_t *reader, int *fd_out)
{
    pthread_mutex_lock(&n->lock);
    uint32_t weight = n->weight;
    pthread_mutex_unlock(&n->lock);
    int fd = -1;
    conn_welcome_t w = {0};
    frame_reader_init(reader, NODUS_MAX_FRAME);
    int rc = conn_connect(n->socket_path, &fd);
    if (rc == 0) rc = conn_handshake(fd, n->job, weight, reader, &w);
    if (rc == 0) rc = welcome_check(n, &w);
    if (rc == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) rc = NODUS_EIO;
    }
    if (rc == 0) {
        atomic_store(&n->session_id, w.session_id);
        n->max_frame = w.max_frame;
        n->max_tasks_per_submit = w.max_tasks_per_submit;
        *fd_out = fd;
    } else {
        if (fd >= 0) close(fd);
        frame_reader_free(reader);
    }
    free(w.cpus);
    devices_free(w.devices, w.ndevices);
    return rc;
}

int reconnect_run(nodus_t *n, done_batch_t *batch, frame_reader_t *reader)
{
    uint64_t lost_at = now_ms();
    atomic_fetch_add(&n->epoch, 1); /* from now on no queued grant of the old daemon starts */
    close(n->fd);
    n->fd = -1;
    debug_say(n, "nodusd went away; recovering the session", NODUS_ECLOSED);

    int rc = settle(n, batch, lost_at + n->reconnect_ms);
    if (rc < 0) return rc;
    if ((rc = session_error(n)) < 0) return rc; /* e.g. device work that failed meanwhile */

    uint64_t deadline = now_ms() + n->reconnect_ms;
    unsigned backoff = BACKOFF_MIN_MS;
    for (;;) {
        if (closing(n)) return RECONNECT_CLOSED; /* the application finished meanwhile */
        int fd = -1;
        rc = attempt(n, reader, &fd);
        if (rc == 0) {
            n->fd = fd;
            atomic_fetch_add(&n->reconnects, 1);
            debug_say(n, "reconnected to nodusd", 0);
            return 0;
        }
        if (!retryable(rc)) {
            debug_say(n,
                      rc == NODUS_ENOTSUP ? "the new nodusd owns other cores or devices"
                                          : "the new nodusd refused the session",
                      rc);
            return rc;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            debug_say(n, "no nodusd answered within NODUS_RECONNECT_TIMEOUT", rc);
            return NODUS_ECLOSED;
        }
        uint64_t until = now + (backoff < deadline - now ? backoff : deadline - now);
        while ((now = now_ms()) < until && !closing(n))
            comm_nap(n, (unsigned)(until - now));
        backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
    }
}

NODUS_EXPORT unsigned nodus_reconnect_count(const nodus_t *n)
{
    return n ? atomic_load(&((nodus_t *)n)->reconnects) : 0;
}
