/*
 * Completion reports: the three queues that task bodies and device callbacks fill (bodies
 * returned; CUDA bodies returned, with their events; OpenCL device work completed) and their
 * packing by the comm thread into Done and DeviceDone messages. All three queues are guarded by
 * n->done_lock and taken in one critical section, and a batch packs its Dones first: since an
 * OpenCL task's Done is pushed before its marker callback can exist, a DeviceDone never leaves
 * before the Done of its task.
 */
#ifndef NODUS_CLIENT_DONE_H
#define NODUS_CLIENT_DONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "internal.h"

/* What the comm thread took from the queues, and its packing scratch (comm thread only). */
typedef struct done_batch {
    uint64_t *done;
    size_t ndone, done_cap;
    cuda_done_t *cuda;
    size_t ncuda, cuda_cap;
    uint64_t *device;
    size_t ndevice, device_cap;
    uint64_t *cuda_ids; /* Done.task_ids of the CUDA tasks */
    Nodus__V1__CudaEvent *cuda_events;
    Nodus__V1__CudaEvent **cuda_event_ptrs;
    size_t cuda_scratch_cap;
} done_batch_t;

/* The body of task `id` returned. Worker threads. */
void done_push(nodus_t *n, uint64_t id);
/* The body of CUDA task `id` returned; `handle` is the pool entry's IPC handle on its first use,
 * else NULL. Worker threads. */
void done_push_cuda(nodus_t *n, uint64_t id, uint32_t pool_index, const void *handle);
/* The OpenCL device work of task `id` completed; must follow done_push(n, id). Any thread. */
void done_push_device(nodus_t *n, uint64_t id);
/* True when grant `run` of task `id` is still the task's current run (not one whose outcome was
 * given up as lost after the daemon restarted, and re-run since). Any thread; takes n->lock. */
bool done_run_current(nodus_t *n, uint64_t id, uint8_t run);
/* True when a queue holds something (the comm thread's last look before it sleeps). */
bool done_pending(nodus_t *n);

/* Swaps the session's queues with the batch's (emptied) storage. Comm thread. */
void done_batch_take(nodus_t *n, done_batch_t *b);
/*
 * Forgets the finished tasks of the batch (an OpenCL task when its DeviceDone goes), then
 * appends the batch as Done (plain, then CUDA) and DeviceDone messages to `out`, in the daemon's
 * ids; with `out` NULL the tasks are only completed locally (while the daemon is away). Empties
 * the batch. Comm thread; takes n->lock. Returns 0 or a NODUS_E* code.
 */
int done_batch_pack(nodus_t *n, done_batch_t *b, frame_buf_t *out);
/* Frees the batch's storage. */
void done_batch_free(done_batch_t *b);

#endif
