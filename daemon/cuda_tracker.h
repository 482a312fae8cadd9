/*
 * The CUDA tracker (docs/devices.md): a helper thread that learns when the device work of CUDA
 * tasks has completed. Sessions hand it (event, context, session id, task id) entries, the event
 * being the client's interprocess event opened with cuIpcOpenEventHandle; the thread polls
 * cuEventQuery with an adaptive period (10 us after activity, doubling up to 1 ms while nothing
 * completes, a condition-variable wait while it has nothing to poll) and posts completed
 * (session id, task id) pairs to the loop through a mutex-protected queue and uv_async_send.
 *
 * Threading: every function here is called on the loop thread, and the completion callback runs
 * there. The tracker thread touches only its own entries and queue, never scheduler or session
 * state; it does not own the events (the sessions do: cuda_tracker_forget_session() guarantees
 * it has stopped using a session's events before they are destroyed).
 */
#ifndef NODUS_CUDA_TRACKER_H
#define NODUS_CUDA_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cuda_api.h"

#define CUDA_TRACKER_PERIOD_MIN_NS 10000u   /* 10 us: after activity */
#define CUDA_TRACKER_PERIOD_MAX_NS 1000000u /* 1 ms: when nothing completes for a while */

typedef struct cuda_tracker cuda_tracker_t;

/* Called on the loop thread once per completed entry; the session may be gone (ignore it then). */
typedef void (*cuda_tracker_done_fn)(void *ctx, uint64_t session_id, uint64_t task_id);

/*
 * Starts the tracker thread, posting to `loop` (its async handle does not keep the loop alive).
 * `api` is borrowed (event_query and ctx_set_current are used from the tracker thread) and must
 * outlive the tracker. NULL on failure.
 */
cuda_tracker_t *cuda_tracker_start(uv_loop_t *loop, const cuda_api_t *api, cuda_tracker_done_fn fn,
                                   void *ctx);
/* Tracks `event` (made current with `cu_ctx` for queries) for a task. 0 or NODUS_ENOMEM. */
int cuda_tracker_add(cuda_tracker_t *tr, cu_event_t event, cu_context_t cu_ctx, uint64_t session_id,
                     uint64_t task_id);
/*
 * Drops every entry of a session (closing). On return the tracker thread no longer uses any of
 * that session's events, so they may be destroyed.
 */
void cuda_tracker_forget_session(cuda_tracker_t *tr, uint64_t session_id);
/* Entries being polled (for status and tests). */
size_t cuda_tracker_pending(cuda_tracker_t *tr);
/*
 * Stops and joins the thread and closes the async handle; freed in its close callback (or at once
 * if a loop teardown already closed the handle and ran).
 */
void cuda_tracker_stop(cuda_tracker_t *tr);

#endif
