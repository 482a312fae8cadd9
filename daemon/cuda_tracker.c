/*
 * The CUDA tracker thread: entries to poll, completions to post. One mutex guards both arrays;
 * the thread holds it while it queries (a query costs about a microsecond, and holding it is
 * what lets cuda_tracker_forget_session() promise that a session's events are no longer in use
 * when it returns). Completions are swapped out of the queue by the async callback on the loop
 * thread, which then calls the owner's function without the lock.
 */
#include "array.h"
#include "cuda_tracker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nodus.h"

typedef struct tracker_entry {
    cu_event_t event;
    cu_context_t ctx;
    uint64_t session_id, task_id;
} tracker_entry_t;

typedef struct tracker_done {
    uint64_t session_id, task_id;
} tracker_done_t;

struct cuda_tracker {
    uv_async_t async; /* first: the close callback gets the tracker back from the handle */
    const cuda_api_t *api;
    cuda_tracker_done_fn fn;
    void *ctx;
    pthread_t thread;
    bool started; /* thread is joinable */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping, kicked;
    tracker_entry_t *entries; /* being polled */
    size_t n, cap;
    tracker_done_t *done; /* completed, not yet taken by the loop */
    size_t ndone, done_cap;
    tracker_done_t *taken; /* the loop's side of the swap */
    size_t taken_cap;
};

static void deadline_after(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += (long)ns;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

/* Polls every entry once (lock held); returns how many completed. */
static size_t poll_entries(cuda_tracker_t *tr, cu_context_t *current)
{
    size_t completed = 0;
    for (size_t i = 0; i < tr->n;) {
        tracker_entry_t *e = &tr->entries[i];
        if (e->ctx != *current && tr->api->ctx_set_current) {
            tr->api->ctx_set_current(e->ctx);
            *current = e->ctx;
        }
        cu_result_t rc = tr->api->event_query(e->event);
        if (rc == CU_ERROR_NOT_READY) {
            i++;
            continue;
        }
        if (rc != CU_SUCCESS)
            /* a failed query never turns ready: completing beats a task that never ends */
            LOG(LOG_ERR, "cuda", e->session_id,
                "task %llu: cuEventQuery failed (%d); treating its device work as complete",
                (unsigned long long)e->task_id, rc);
        if (array_reserve((void **)&tr->done, &tr->done_cap, tr->ndone + 1, sizeof *tr->done) < 0) {
            i++; /* try again next round */
            continue;
        }
        tr->done[tr->ndone++] = (tracker_done_t){e->session_id, e->task_id};
        *e = tr->entries[--tr->n];
        completed++;
    }
    return completed;
}

static void *tracker_main(void *arg)
{
    cuda_tracker_t *tr = arg;
    cu_context_t current = NULL;
    uint64_t period = CUDA_TRACKER_PERIOD_MIN_NS;
    pthread_mutex_lock(&tr->lock);
    while (!tr->stopping) {
        if (tr->n == 0) {
            pthread_cond_wait(&tr->cond, &tr->lock);
            period = CUDA_TRACKER_PERIOD_MIN_NS;
            continue;
        }
        bool kicked = tr->kicked;
        tr->kicked = false;
        if (poll_entries(tr, &current) > 0) {
            uv_async_send(&tr->async);
            period = CUDA_TRACKER_PERIOD_MIN_NS;
        } else if (kicked) {
            period = CUDA_TRACKER_PERIOD_MIN_NS; /* new work: look again soon */
        } else if (period < CUDA_TRACKER_PERIOD_MAX_NS) {
            period *= 2;
            if (period > CUDA_TRACKER_PERIOD_MAX_NS) period = CUDA_TRACKER_PERIOD_MAX_NS;
        }
        if (tr->stopping || tr->n == 0) continue;
        struct timespec ts;
        deadline_after(&ts, period);
        int rc;
        do {
            rc = pthread_cond_timedwait(&tr->cond, &tr->lock, &ts);
        } while (rc == 0 && !tr->stopping && !tr->kicked);
    }
    pthread_mutex_unlock(&tr->lock);
    return NULL;
}

static void on_async(uv_async_t *h)
{
    cuda_tracker_t *tr = (cuda_tracker_t *)h;
    pthread_mutex_lock(&tr->lock);
    tracker_done_t *items = tr->done;
    size_t n = tr->ndone, cap = tr->done_cap;
    /* swap the arrays: the thread keeps appending to the other one */
    tr->done = tr->taken;
    tr->done_cap = tr->taken_cap;
    tr->ndone = 0;
    tr->taken = items;
    tr->taken_cap = cap;
    pthread_mutex_unlock(&tr->lock);
    for (size_t i = 0; i < n; i++)
        tr->fn(tr->ctx, items[i].session_id, items[i].task_id);
}

cuda_tracker_t *cuda_tracker_start(uv_loop_t *loop, const cuda_api_t *api, cuda_tracker_done_fn fn,
                                   void *ctx)
{
    if (!loop || !api || !api->event_query || !fn) return NULL;
    cuda_tracker_t *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->api = api;
    tr->fn = fn;
    tr->ctx = ctx;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int ok = pthread_mutex_init(&tr->lock, NULL) == 0;
    if (ok && pthread_cond_init(&tr->cond, &ca) != 0) {
        pthread_mutex_destroy(&tr->lock);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    if (!ok) {
        free(tr);
        return NULL;
    }
    if (uv_async_init(loop, &tr->async, on_async) < 0) {
        pthread_cond_destroy(&tr->cond);
        pthread_mutex_destroy(&tr->lock);
        free(tr);
        return NULL;
    }
    uv_unref((uv_handle_t *)&tr->async);
    int rc = pthread_create(&tr->thread, NULL, tracker_main, tr);
    tr->started = rc == 0;
    if (rc != 0) {
        LOG(LOG_ERR, "cuda", 0, "cannot start the CUDA tracker thread: %s", strerror(rc));
        /* the handle is initialised: close it; the close callback frees */
        tr->stopping = true;
        cuda_tracker_stop(tr);
        return NULL;
    }
    return tr;
}

int cuda_tracker_add(cuda_tracker_t *tr, cu_event_t event, cu_context_t cu_ctx, uint64_t session_id,
                     uint64_t task_id)
{
    pthread_mutex_lock(&tr->lock);
    int rc = array_reserve((void **)&tr->entries, &tr->cap, tr->n + 1, sizeof *tr->entries);
    if (rc == 0) {
        tr->entries[tr->n++] = (tracker_entry_t){event, cu_ctx, session_id, task_id};
        tr->kicked = true;
        pthread_cond_signal(&tr->cond);
    }
    pthread_mutex_unlock(&tr->lock);
    return rc;
}

void cuda_tracker_forget_session(cuda_tracker_t *tr, uint64_t session_id)
{
    pthread_mutex_lock(&tr->lock);
    for (size_t i = 0; i < tr->n;) {
        if (tr->entries[i].session_id == session_id)
            tr->entries[i] = tr->entries[--tr->n];
        else
            i++;
    }
    pthread_mutex_unlock(&tr->lock);
}

size_t cuda_tracker_pending(cuda_tracker_t *tr)
{
    pthread_mutex_lock(&tr->lock);
    size_t n = tr->n;
    pthread_mutex_unlock(&tr->lock);
    return n;
}

static void tracker_free(cuda_tracker_t *tr)
{
    pthread_cond_destroy(&tr->cond);
    pthread_mutex_destroy(&tr->lock);
    free(tr->entries);
    free(tr->done);
    free(tr->taken);
    free(tr);
}

static void on_close(uv_handle_t *h)
{
    tracker_free((cuda_tracker_t *)h);
}

void cuda_tracker_stop(cuda_tracker_t *tr)
{
    if (!tr) return;
    pthread_mutex_lock(&tr->lock);
    tr->stopping = true;
    pthread_cond_signal(&tr->cond);
    pthread_mutex_unlock(&tr->lock);
    if (tr->started) pthread_join(tr->thread, NULL);
    tr->started = false;
    if (uv_is_closing((uv_handle_t *)&tr->async))
        tracker_free(tr); /* closed by a loop teardown (uv_walk), which has run: free it here */
    else
        uv_close((uv_handle_t *)&tr->async, on_close);
}
