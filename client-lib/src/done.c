/*
 * Completion reports (see done.h).
 */
#include "array.h"
#include "done.h"

#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "nodus_limits.h"
#include "replay.h"

/* ---- the queues ---- */

/* Appends `id` to a queue guarded by done_lock; on ENOMEM fails the session (the daemon would
 * never hear of this task again). */
static void push_id(nodus_t *n, uint64_t **ids, size_t *count, size_t *cap, uint64_t id)
{
    pthread_mutex_lock(&n->done_lock);
    int rc = 0;
    if (*count == *cap) {
        void *arr = *ids;
        rc = array_reserve(&arr, cap, *count + 1, sizeof **ids);
        *ids = arr;
    }
    if (rc == 0) (*ids)[(*count)++] = id;
    pthread_mutex_unlock(&n->done_lock);
    if (rc < 0) session_fail(n, rc);
    comm_wake(n);
}

void done_push(nodus_t *n, uint64_t id)
{
    push_id(n, &n->done_ids, &n->ndone, &n->done_cap, id);
}

void done_push_device(nodus_t *n, uint64_t id)
{
    push_id(n, &n->device_done_ids, &n->ndevice_done, &n->device_done_cap, id);
}

void done_push_cuda(nodus_t *n, uint64_t id, uint32_t pool_index, const void *handle)
{
    pthread_mutex_lock(&n->done_lock);
    int rc = 0;
    if (n->ncuda_done == n->cuda_done_cap) {
        void *arr = n->cuda_done;
        rc = array_reserve(&arr, &n->cuda_done_cap, n->ncuda_done + 1, sizeof *n->cuda_done);
        n->cuda_done = arr;
    }
    if (rc == 0) {
        cuda_done_t *d = &n->cuda_done[n->ncuda_done++];
        d->id = id;
        d->pool_index = pool_index;
        d->has_handle = handle != NULL;
        if (handle) memcpy(d->handle, handle, sizeof d->handle);
    }
    pthread_mutex_unlock(&n->done_lock);
    if (rc < 0) session_fail(n, rc);
    comm_wake(n);
}

bool done_run_current(nodus_t *n, uint64_t id, uint8_t run)
{
    pthread_mutex_lock(&n->lock);
    task_entry_t *e = table_lookup(&n->table, id);
    bool current =
        e && e->run == run && (e->state == TASK_ENTRY_GRANTED || e->state == TASK_ENTRY_DEVICE);
    pthread_mutex_unlock(&n->lock);
    return current;
}

bool done_pending(nodus_t *n)
{
    pthread_mutex_lock(&n->done_lock);
    bool work = n->ndone > 0 || n->ncuda_done > 0 || n->ndevice_done > 0;
    pthread_mutex_unlock(&n->done_lock);
    return work;
}

#define SWAP(type, a, b)                                                                           \
    do {                                                                                           \
        type swap_tmp = (a);                                                                       \
        (a) = (b);                                                                                 \
        (b) = swap_tmp;                                                                            \
    } while (0)

void done_batch_take(nodus_t *n, done_batch_t *b)
{
    /* the batch is empty (packed) on entry: its storage goes back to the session */
    pthread_mutex_lock(&n->done_lock);
    SWAP(uint64_t *, n->done_ids, b->done);
    SWAP(size_t, n->done_cap, b->done_cap);
    b->ndone = n->ndone;
    n->ndone = 0;
    SWAP(cuda_done_t *, n->cuda_done, b->cuda);
    SWAP(size_t, n->cuda_done_cap, b->cuda_cap);
    b->ncuda = n->ncuda_done;
    n->ncuda_done = 0;
    SWAP(uint64_t *, n->device_done_ids, b->device);
    SWAP(size_t, n->device_done_cap, b->device_cap);
    b->ndevice = n->ndevice_done;
    n->ndevice_done = 0;
    pthread_mutex_unlock(&n->done_lock);
}

void done_batch_free(done_batch_t *b)
{
    free(b->done);
    free(b->cuda);
    free(b->device);
    free(b->cuda_ids);
    free(b->cuda_events);
    free(b->cuda_event_ptrs);
    memset(b, 0, sizeof *b);
}

/* ---- packing ---- */

/* `count` tasks left the table: let blocked submitters go on. Under n->lock. */
static void tasks_finished(nodus_t *n, size_t count)
{
    n->outstanding -= count;
    if (count && n->space_waiters && n->outstanding < n->max_outstanding)
        pthread_cond_broadcast(&n->space_cv);
}

/* Wire size of one id in a Done, at most (a varint), and of one CudaEvent beside it. */
#define DONE_ID_BYTES    10u
#define DONE_EVENT_BYTES (2u + 11u + 6u + 2u + NODUS_CUDA_IPC_HANDLE_SIZE + 3u)

/* Done (or DeviceDone) messages for ids[0..count), at most NODUS_MAX_DONE_PER_MSG each and
 * within the daemon's frame limit (Welcome.max_frame: limits.max_message_bytes may be as low as
 * 64 KiB); CUDA events, when given, travel beside their ids. */
static int append_ids(nodus_t *n, frame_buf_t *out, bool device, uint64_t *ids, size_t count,
                      Nodus__V1__CudaEvent **events)
{
    size_t per_id = DONE_ID_BYTES + (events ? DONE_EVENT_BYTES : 0);
    size_t fit = n->max_frame > 16 + per_id ? (n->max_frame - 16) / per_id : 1;
    for (size_t i = 0; i < count;) {
        size_t k = count - i;
        if (k > NODUS_MAX_DONE_PER_MSG) k = NODUS_MAX_DONE_PER_MSG;
        if (k > fit) k = fit;
        Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
        Nodus__V1__Done done = NODUS__V1__DONE__INIT;
        Nodus__V1__DeviceDone dd = NODUS__V1__DEVICE_DONE__INIT;
        if (device) {
            dd.n_task_ids = k;
            dd.task_ids = ids + i;
            m.body_case = NODUS__V1__MSG__BODY_DEVICE_DONE;
            m.device_done = &dd;
        } else {
            done.n_task_ids = k;
            done.task_ids = ids + i;
            if (events) {
                done.n_cuda_events = k;
                done.cuda_events = events + i;
            }
            m.body_case = NODUS__V1__MSG__BODY_DONE;
            m.done = &done;
        }
        int rc = frame_buf_append(out, &m, n->max_frame);
        if (rc < 0) return rc;
        i += k;
    }
    return 0;
}

/* The CUDA part of the batch as ids and CudaEvent arrays (scratch that only grows). */
static int cuda_events_build(done_batch_t *b)
{
    if (b->ncuda > b->cuda_scratch_cap) {
        size_t cap = b->cuda_scratch_cap;
        void *arr = b->cuda_ids;
        int rc = array_reserve(&arr, &cap, b->ncuda, sizeof *b->cuda_ids);
        b->cuda_ids = arr;
        if (rc < 0) return rc;
        Nodus__V1__CudaEvent *ev = realloc(b->cuda_events, cap * sizeof *ev);
        if (!ev) return NODUS_ENOMEM;
        b->cuda_events = ev;
        Nodus__V1__CudaEvent **ptrs = realloc(b->cuda_event_ptrs, cap * sizeof *ptrs);
        if (!ptrs) return NODUS_ENOMEM;
        b->cuda_event_ptrs = ptrs;
        b->cuda_scratch_cap = cap;
    }
    for (size_t i = 0; i < b->ncuda; i++) {
        const cuda_done_t *d = &b->cuda[i];
        Nodus__V1__CudaEvent *e = &b->cuda_events[i];
        nodus__v1__cuda_event__init(e);
        e->task_id = d->id;
        e->pool_index = d->pool_index;
        if (d->has_handle) {
            e->ipc_handle.data = (uint8_t *)d->handle;
            e->ipc_handle.len = sizeof d->handle;
        }
        b->cuda_ids[i] = d->id;
        b->cuda_event_ptrs[i] = e;
    }
    return 0;
}

/* Task `id` completed: forget it, and let its kept batch go once all of its tasks have. */
static void forget_locked(nodus_t *n, uint64_t id)
{
    task_entry_t *e = table_lookup(&n->table, id);
    if (!e) return;
    session_task_state(n, e, TASK_ENTRY_SUBMITTED); /* only for the counters */
    table_complete(&n->table, id, n->next_id);
    replay_release(n->replay, id);
}

/* The daemon's ids for the client ids ids[0..count), in place. */
static void ids_to_wire(const nodus_t *n, uint64_t *ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        ids[i] = replay_wire_of(n->replay, ids[i]);
}

int done_batch_pack(nodus_t *n, done_batch_t *b, frame_buf_t *out)
{
    if (b->ndone + b->ncuda + b->ndevice == 0) return 0;
    /* forget the tasks and let blocked submitters go on; an OpenCL task stays until its
     * DeviceDone (this batch's or a later one's), so a taskwait that finds nothing outstanding
     * never skips device work */
    pthread_mutex_lock(&n->lock);
    size_t finished = 0;
    for (size_t i = 0; i < b->ndone; i++) {
        task_entry_t *e = table_lookup(&n->table, b->done[i]);
        if (e && e->state == TASK_ENTRY_GRANTED && e->kind == NODUS_DEV_OPENCL) {
            session_task_state(n, e, TASK_ENTRY_DEVICE);
            continue;
        }
        forget_locked(n, b->done[i]);
        finished++;
    }
    for (size_t i = 0; i < b->ncuda; i++)
        forget_locked(n, b->cuda[i].id);
    for (size_t i = 0; i < b->ndevice; i++)
        forget_locked(n, b->device[i]);
    tasks_finished(n, finished + b->ncuda + b->ndevice);
    pthread_mutex_unlock(&n->lock);

    int rc = 0;
    if (out) {
        /* the map changes only on the comm thread, which is this one */
        ids_to_wire(n, b->done, b->ndone);
        ids_to_wire(n, b->device, b->ndevice);
        for (size_t i = 0; i < b->ncuda; i++)
            b->cuda[i].id = replay_wire_of(n->replay, b->cuda[i].id);
        rc = append_ids(n, out, false, b->done, b->ndone, NULL);
        if (rc == 0 && b->ncuda) rc = cuda_events_build(b);
        if (rc == 0)
            rc = append_ids(n, out, false, b->cuda_ids, b->ncuda,
                            b->ncuda ? b->cuda_event_ptrs : NULL);
        if (rc == 0) rc = append_ids(n, out, true, b->device, b->ndevice, NULL);
    }
    b->ndone = b->ncuda = b->ndevice = 0;
    return rc;
}
