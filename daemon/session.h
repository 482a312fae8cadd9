/*
 * A session: one accepted connection and everything the daemon knows about its peer.
 *
 * State machine (docs/protocol.md):
 *   AWAIT_HELLO --Hello{role CLIENT}--> CLIENT --EOF, error, Bye, violation--> CLOSED
 *   AWAIT_HELLO --Hello{role CTL}-----> CTL    --EOF, error, Bye, violation--> CLOSED
 * A CLIENT may send Submit, Done, DeviceDone, Wait, SetWeight, StatusRequest, Bye; a CTL
 * StatusRequest, the admin requests (DrainRequest, KillRequest, TraceStart, TraceStop) and Bye,
 * and while a trace is being sent to it only Bye. Anything else, or a message that fails
 * validation, drops the peer with an Error.
 *
 * session_io.c owns the connection (reading, framing, output buffering, closing);
 * session.c owns the messages (handlers, the task graph, waits, grants);
 * session_device.c the device side of tasks (CUDA events, DeviceDone, device completion);
 * session_hold.c the input held back while the user is at limits.max_outstanding_tasks;
 * session_lost.c the log of a client lost while its tasks ran.
 * Loop thread only.
 */
#ifndef NODUS_SESSION_H
#define NODUS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cuda_api.h"
#include "daemon.h"
#include "deps.h"
#include "frame.h"
#include "nodus.pb-c.h"
#include "nodus_limits.h"
#include "sched.h"
#include "task.h"
#include "taskmap.h"

typedef enum session_state {
    SESSION_AWAIT_HELLO = 0,
    SESSION_CLIENT,
    SESSION_CTL,
    SESSION_CLOSED,
} session_state_t;

/* A pending wait-for-all: answered once every task with id <= last_id has completed. */
typedef struct session_wait_all {
    uint64_t token;
    uint64_t last_id;
} session_wait_all_t;

/* A client's CUDA event pool entry, opened once (cuIpcOpenEventHandle) and cached. */
typedef struct session_cuda_event {
    uint64_t key; /* (device index << 32) | pool index: pools are per device */
    cu_event_t event;
    uint8_t handle[NODUS_CUDA_IPC_HANDLE_SIZE]; /* the bytes it was opened from */
} session_cuda_event_t;

/* A message held back by the per-user task limit (session_hold.c), owned. */
typedef struct session_held {
    Nodus__V1__Msg *msg; /* Submit, Wait or Bye, decoded (freed when handled) */
    size_t next_task;    /* Submit: index of its first task not yet accepted */
    size_t bytes;        /* its frame's size, counted in held_bytes */
} session_held_t;

/* A list of tasks linked through task_t.live_prev/live_next. */
typedef struct task_list {
    task_t *head, *tail;
    size_t count;
} task_list_t;

typedef struct session {
    daemon_t *d;                 /* borrowed */
    struct session *prev, *next; /* daemon's session list (until the handle is closed) */
    uv_pipe_t pipe;
    uv_shutdown_t shutdown_req;
    uint64_t id; /* daemon-wide, from 1 */
    uint32_t uid, gid, pid;
    session_state_t state;
    uint64_t open_ns;

    /* connection */
    frame_reader_t reader;
    frame_buf_t out;     /* encoded frames not yet handed to the kernel or libuv */
    size_t out_inflight; /* bytes inside uv_write requests */
    int handle_closing;  /* uv_close or uv_shutdown issued */

    /* peer, from Hello */
    Nodus__V1__Role role;
    uint32_t version;
    uint32_t weight;
    char job[NODUS_MAX_NAME + 1];
    char client_name[NODUS_MAX_NAME + 1];

    /* CLIENT: tasks */
    sched_client_t *client; /* owned (sched_client_remove) */
    deps_t *deps;           /* owned */
    taskmap_t tasks;        /* live CPU tasks by id */
    task_list_t live;       /* live CPU tasks in submission order (holds the session's ref) */
    task_list_t waits_on;   /* live virtual TASK_KIND_WAIT tasks (holds the session's ref) */
    uint64_t last_id;       /* id of the last task submitted */
    uint64_t submitted, done;
    task_t **vready; /* virtual tasks made ready inside a deps call, completed after it */
    size_t vready_len, vready_cap;
    session_wait_all_t *wait_all; /* FIFO of pending wait-for-all, from wait_all_head */
    size_t wait_all_head, wait_all_len, wait_all_cap;

    /* grants of the current dispatch pass, sent as one Grants message */
    task_t **grants;
    size_t ngrants, grants_cap;
    /* CUDA events opened for this session (session_device.c), sorted by key; and events replaced
     * by a new handle for the same pool entry, destroyed at close (the tracker may hold them) */
    session_cuda_event_t *cuda_events;
    size_t ncuda_events, cuda_events_cap;
    session_cuda_event_t *cuda_retired;
    size_t ncuda_retired, cuda_retired_cap;

    /* traces (ctl_trace.c) */
    struct trace_export *trace_export; /* CTL: the trace being sent to it, or NULL (owned) */
    uint32_t trace_gen, trace_idx;     /* its index in the session table of ring `trace_gen` */

    /* back-pressure (session_hold.c): messages held while the user is at its task limit */
    session_held_t *held; /* FIFO from held_head */
    size_t held_head, held_len, held_cap;
    size_t held_bytes;
    int read_stopped;   /* uv_read_stop()ed because of held input */
    int limits_counted; /* counted in d->limits as one of its uid's client sessions */

    int out_of_memory;  /* an allocation inside a callback failed: drop soon */
    int ready_error;    /* the scheduler refused a ready task (its error code): drop soon */
    int granted_listed; /* on the daemon's list of sessions holding grants */
    struct session *granted_next;
} session_t;

/* ---- session_io.c ---- */

/*
 * Accepts a pending connection on `listener` into a new session: reads SO_PEERCRED, links it
 * into the daemon and starts reading. Returns 0, or a negative code (connection not served).
 */
int session_accept(daemon_t *d, uv_stream_t *listener);
/*
 * Serves an already-connected stream socket `fd` as a new session, exactly as if it had been
 * accepted (SO_PEERCRED, reading). On success the session owns fd; on failure the caller still
 * does. Used by the fuzz harness, which has no listener. Returns 0 or a negative code.
 */
int session_adopt_fd(daemon_t *d, int fd);
/* Starts (or restarts, after back-pressure) reading the connection: 0 or a libuv error. */
int session_read_start(session_t *s);
/* Appends one message to the session's output (sent before the loop next blocks). */
int session_send(session_t *s, const Nodus__V1__Msg *m);
/* Appends an Error message. */
void session_send_error(session_t *s, int code, const char *text);
/*
 * Hands buffered output to the kernel (uv_try_write) and to libuv (uv_write) for the rest.
 * Drops the session if its pending output passes the bound. Returns 0 or a negative code.
 */
int session_flush(session_t *s);
/*
 * Ends the session: frees its cores and tasks at once, then closes the connection. With
 * `graceful`, buffered output (an Error, say) is written first. `reason` is borrowed (logged only).
 * Idempotent.
 */
void session_close(session_t *s, const char *reason, int graceful);
/* Closes at once, even a session whose graceful close still waits for writes (shutdown). */
void session_abort(session_t *s, const char *reason);
/* Protocol violation: logs it with the peer's identity, sends Error{code}, drops the peer. */
void session_fail(session_t *s, int code, const char *why);

/* ---- session.c ---- */

/*
 * Handles one decoded, validated message (its frame `frame_len` bytes) according to the
 * session's state. Returns 1 when the
 * session kept `m` (held back by the task limit: it frees it later), 0 when the caller frees it.
 */
int session_handle_msg(session_t *s, Nodus__V1__Msg *m, size_t frame_len);
/*
 * Accepts tasks [from, n_tasks) of Submit `sub`, as many as the user's task limit allows now
 * and at most `quota`. Returns the index of the first task not accepted (n_tasks when all were),
 * or SIZE_MAX when the session failed (it is CLOSED then).
 */
size_t session_accept_tasks(session_t *s, const Nodus__V1__Submit *sub, size_t from,
                            uint64_t quota);
/* Drops the session if a callback inside the last handler recorded a failure (ready_error,
 * out_of_memory). */
void session_check_deferred(session_t *s);
/* Wait: answered when the tasks submitted so far (that touch the range, if any) are complete. */
void session_on_wait(session_t *s, const Nodus__V1__Wait *w);
/* Releases the session's scheduler client, dependency engine and tasks (on close). */
void session_release_work(session_t *s);
/* Records a grant of the current dispatch pass (the task is RUNNING). */
void session_add_grant(session_t *s, task_t *t);
/* Encodes the recorded grants as Grants messages into the output and forgets them. */
void session_emit_grants(session_t *s);
/* Frees the session's message-side arrays (at free time). */
void session_free_work(session_t *s);
/* Human name of a role, for logs. */
const char *session_role_name(Nodus__V1__Role role);
/*
 * Completes live task t (CPU: its body returned; device task: its device work completed, which
 * takes it off its device first): releases successors, answers waits that became ready, drops
 * the session's reference. The caller then marks the daemon dirty and calls
 * session_answer_waits().
 */
void session_complete_task(session_t *s, task_t *t);
/* Answers the wait-for-all requests whose tasks have all completed. */
void session_answer_waits(session_t *s);

/* ---- session_hold.c ---- */

/* Must `m` wait behind held messages (a Submit, Wait or Bye while some are held)? */
int session_hold_needed(const session_t *s, const Nodus__V1__Msg *m);
/*
 * Holds `m` (taken over) behind the session's held messages; a Submit from task `next_task`.
 * Stops reading a session that holds much and has no live task (which would need its input),
 * and drops one that holds more than SESSION_MAX_HELD (it ignores back-pressure).
 */
void session_hold(session_t *s, Nodus__V1__Msg *m, size_t next_task, size_t bytes);
/* Handles the session's held messages as far as its user's task limit and `quota` tasks allow. */
void session_hold_resume(session_t *s, uint64_t quota);
/* Resumes every held session whose user is below its limit again (before dispatch). */
void session_hold_resume_all(daemon_t *d);
/* Frees the held messages (at close). */
void session_hold_release(session_t *s);

/* ---- session_lost.c ---- */

/*
 * The peer of CLIENT session s went away without Bye while it had tasks running (it crashed or
 * was killed): logs it at warning level with its identity and each running task, and later
 * whether the peer process is gone and how it ended, when that can be told.
 */
void session_log_lost(session_t *s, const char *reason);
/* Stops the pending peer checks (daemon stop). */
void session_lost_stop(daemon_t *d);

/* ---- session_device.c ---- */

/*
 * The CUDA part of a Done, after each of its tasks was finished: CUDA tasks that moved to the
 * device phase in this Done (task.awaiting_event) get their event handed to the tracker; those
 * without an event complete at once. May fail the session.
 */
void session_done_cuda(session_t *s, const Nodus__V1__Done *done);
/* DeviceDone: the OpenCL device work of these tasks completed. May fail the session. */
void session_on_device_done(session_t *s, const Nodus__V1__DeviceDone *dd);
/* The CUDA tracker's completion of (session, task), on the loop thread; unknown ones are ignored.
 */
void session_cuda_complete(daemon_t *d, uint64_t session_id, uint64_t task_id);
/* At close: the tracker forgets the session, its CUDA events are destroyed. */
void session_device_release(session_t *s);

#endif
