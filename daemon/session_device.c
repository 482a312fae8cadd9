/*
 * The device side of a session's tasks (docs/devices.md, docs/protocol.md):
 *   - CUDA: a Done carries, for each CUDA task, the event that marks the end of its device work
 *     (CudaEvent: the client's pool index, with the cudaIpcGetEventHandle bytes the first time
 *     that pool entry is used). The session opens each handle once (cuIpcOpenEventHandle, cached
 *     per device and pool index) and hands (event, task) to the CUDA tracker; the tracker's
 *     completion comes back through session_cuda_complete(). A CUDA task whose Done carries no
 *     event completes when its body returned.
 *   - OpenCL: DeviceDone{task_ids} reports completion, after the Done of the same task.
 * Either way the task then completes like any other (session_complete_task), which takes it off
 * its device. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "cuda_tracker.h"
#include "log.h"
#include "nodus.h"
#include "session.h"

#define KIND_CUDA   NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA
#define KIND_OPENCL NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL

/* ---- the session's CUDA event cache: sorted by key, binary search ---- */

static uint64_t event_key(uint32_t device, uint32_t pool_index)
{
    return (uint64_t)device << 32 | pool_index;
}

/* Index of key in the cache, or where it would go (*found says which). */
static size_t cache_find(const session_t *s, uint64_t key, int *found)
{
    size_t lo = 0, hi = s->ncuda_events;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->cuda_events[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->ncuda_events && s->cuda_events[lo].key == key;
    return lo;
}

/* Opens an IPC event handle with device `device`'s context current. */
static int open_event(session_t *s, uint32_t device, const uint8_t *bytes, cu_event_t *ev)
{
    daemon_t *d = s->d;
    cu_context_t ctx;
    if (devices_cuda_context(&d->devices, device, &ctx) < 0) return NODUS_EIO;
    cu_ipc_event_handle_t h;
    memcpy(h.reserved, bytes, sizeof h.reserved);
    cu_result_t rc = d->devices.cuda.ipc_open_event(ev, h);
    if (rc != CU_SUCCESS) {
        LOG(LOG_WARNING, "cuda", s->id, "cuIpcOpenEventHandle failed (%d) for device %u", rc,
            device);
        return NODUS_EIO;
    }
    return 0;
}

/*
 * The event of CudaEvent e for a task on `device`: opened from e's handle (cached), or the cached
 * one when e carries none. 0, NODUS_EPROTO (no handle ever sent for that entry), NODUS_EIO,
 * NODUS_ENOMEM; *why gets the reason.
 */
static int cuda_event_get(session_t *s, uint32_t device, const Nodus__V1__CudaEvent *e,
                          cu_event_t *ev, const char **why)
{
    uint64_t key = event_key(device, e->pool_index);
    int found;
    size_t at = cache_find(s, key, &found);
    if (e->ipc_handle.len == 0) {
        if (!found) {
            *why = "cuda event pool entry whose handle was never sent";
            return NODUS_EPROTO;
        }
        *ev = s->cuda_events[at].event;
        return 0;
    }
    if (found &&
        memcmp(s->cuda_events[at].handle, e->ipc_handle.data, NODUS_CUDA_IPC_HANDLE_SIZE) == 0) {
        *ev = s->cuda_events[at].event; /* the same handle again: nothing to open */
        return 0;
    }
    if (found) {
        /* a new event for a known entry: the tracker may still poll the old one, keep it */
        if (array_reserve((void **)&s->cuda_retired, &s->cuda_retired_cap, s->ncuda_retired + 1,
                          sizeof *s->cuda_retired) < 0) {
            *why = "out of memory for a cuda event";
            return NODUS_ENOMEM;
        }
    } else if (array_reserve((void **)&s->cuda_events, &s->cuda_events_cap, s->ncuda_events + 1,
                             sizeof *s->cuda_events) < 0) {
        *why = "out of memory for a cuda event";
        return NODUS_ENOMEM;
    }
    int rc = open_event(s, device, e->ipc_handle.data, ev);
    if (rc < 0) {
        *why = "cannot open the cuda event handle";
        return rc;
    }
    if (found) {
        s->cuda_retired[s->ncuda_retired++] = s->cuda_events[at];
    } else {
        memmove(&s->cuda_events[at + 1], &s->cuda_events[at],
                (s->ncuda_events - at) * sizeof *s->cuda_events);
        s->ncuda_events++;
    }
    s->cuda_events[at].key = key;
    s->cuda_events[at].event = *ev;
    memcpy(s->cuda_events[at].handle, e->ipc_handle.data, NODUS_CUDA_IPC_HANDLE_SIZE);
    return 0;
}

/* ---- CUDA completion ---- */

void session_done_cuda(session_t *s, const Nodus__V1__Done *done)
{
    daemon_t *d = s->d;
    for (size_t i = 0; i < done->n_cuda_events; i++) {
        const Nodus__V1__CudaEvent *e = done->cuda_events[i];
        task_t *t = taskmap_find(&s->tasks, e->task_id);
        if (!t || t->state != TASK_DEVICE || t->grant_kind != KIND_CUDA || !t->awaiting_event) {
            session_fail(s, NODUS_EPROTO, "cuda event for a task this done did not finish on CUDA");
            return;
        }
        const char *why = NULL;
        cu_event_t ev;
        int rc = cuda_event_get(s, t->device, e, &ev, &why);
        if (rc < 0) {
            session_fail(s, rc, why);
            return;
        }
        cu_context_t ctx = d->devices.list[t->device].cuda_ctx;
        if (!d->cuda_tracker || cuda_tracker_add(d->cuda_tracker, ev, ctx, s->id, t->id) < 0) {
            session_fail(s, NODUS_ENOMEM, "cannot track a cuda event");
            return;
        }
        t->awaiting_event = 0;
    }
    /* CUDA tasks of this Done without an event: the client could not record one */
    for (size_t i = 0; i < done->n_task_ids; i++) {
        task_t *t = taskmap_find(&s->tasks, done->task_ids[i]);
        if (!t || !t->awaiting_event) continue;
        t->awaiting_event = 0;
        LOG(LOG_DEBUG, "cuda", s->id, "task %llu: no event; complete as its body returned",
            (unsigned long long)t->id);
        session_complete_task(s, t);
    }
}

void session_cuda_complete(daemon_t *d, uint64_t session_id, uint64_t task_id)
{
    session_t *s = d->sessions;
    while (s && s->id != session_id)
        s = s->next;
    if (!s || s->state != SESSION_CLIENT) return; /* gone: its tasks went with it */
    task_t *t = taskmap_find(&s->tasks, task_id);
    if (!t || t->state != TASK_DEVICE || t->grant_kind != KIND_CUDA || t->awaiting_event) return;
    d->now_ns = uv_hrtime();
    session_complete_task(s, t);
    daemon_mark_dirty(d);
    session_answer_waits(s);
}

/* ---- OpenCL completion ---- */

void session_on_device_done(session_t *s, const Nodus__V1__DeviceDone *dd)
{
    for (size_t i = 0; i < dd->n_task_ids; i++) {
        task_t *t = taskmap_find(&s->tasks, dd->task_ids[i]);
        if (!t || t->state != TASK_DEVICE || t->grant_kind != KIND_OPENCL) {
            session_fail(s, NODUS_EPROTO,
                         "device done for a task not in flight on an OpenCL device");
            return;
        }
        session_complete_task(s, t);
    }
    daemon_mark_dirty(s->d);
    session_answer_waits(s);
}

/* ---- teardown ---- */

static void destroy_events(session_t *s, session_cuda_event_t *ev, size_t n)
{
    daemon_t *d = s->d;
    for (size_t i = 0; i < n; i++) {
        cu_context_t ctx;
        if (devices_cuda_context(&d->devices, (size_t)(ev[i].key >> 32), &ctx) == 0)
            d->devices.cuda.event_destroy(ev[i].event);
    }
}

void session_device_release(session_t *s)
{
    daemon_t *d = s->d;
    if (d->cuda_tracker) cuda_tracker_forget_session(d->cuda_tracker, s->id);
    destroy_events(s, s->cuda_events, s->ncuda_events);
    destroy_events(s, s->cuda_retired, s->ncuda_retired);
    s->ncuda_events = s->ncuda_retired = 0;
}
