/*
 * nodus.h: the public API of libnodus, the client library of the nodus node scheduler.
 *
 * An application opens a session with the node's daemon (nodusd), submits tasks in program
 * order, each with the byte ranges it reads and writes, and waits for them. The daemon tracks
 * dependencies for every process on the node and grants cores; task bodies run in this process,
 * on libnodus worker threads pinned to the granted core. See docs/ and apps/examples/.
 *
 * Thread safety: every function may be called from any application thread, and from task
 * bodies, unless its comment says otherwise. No function aborts or exits the host program;
 * failures are negative NODUS_E* codes (nodus_strerror() describes them).
 *
 * Daemon restarts: when nodusd vanishes without a word (it crashed or was SIGKILLed; its socket
 * reached end of stream), the session is not lost. libnodus lets the bodies already running
 * finish (they are complete: their effects are in memory), starts no other body, waits for the
 * device work of finished bodies to be confirmed in this process (OpenCL marker callbacks, CUDA
 * events), then reconnects with exponential back-off (10 ms doubling to 1 s) through the same
 * discovery and autostart path as nodus_open(), says Hello again with the same job and weight,
 * and resubmits, in their original order and with their original accesses and attributes,
 * every task that had not started. Calls made meanwhile behave as usual: submissions are
 * buffered, taskwait and friends keep waiting and return when the resubmitted tasks are done.
 * No body runs twice, except that of a task declared idempotent whose device work could not be
 * confirmed within the budget; for any other such task the session fails with NODUS_ELOST.
 * Recovery gives up with NODUS_ECLOSED when no daemon answers within $NODUS_RECONNECT_TIMEOUT,
 * and with NODUS_ENOTSUP when the new daemon owns other cores or devices. A daemon that ends a
 * session on purpose says so first (an Error message: nodusctl kill, a drain that timed out, a
 * daemon stopped by a second SIGTERM) and the session fails with that error at once, as before.
 * Task ids (nodus_task_id()) are the client's and never change; nodus_session_id() is the
 * current daemon session's. Details: docs/protocol.md, "Daemon restarts".
 *
 * After a session error (the daemon dropped the session, or could not be reached again) every
 * later call returns that error, bodies not yet started are skipped, and nodus_close() must
 * still be called. In a child forked after nodus_open(), calls on the parent's session return
 * NODUS_ECLOSED.
 *
 * Threaded libraries in task bodies (docs/devices.md): a body may use OpenMP or a threaded BLAS
 * without oversubscribing the node. Before each body, libnodus sets its worker thread's OpenMP
 * team size (omp_set_num_threads(), a per-thread setting) to the task's granted core count, so
 * a `#pragma omp parallel` in a one-core body runs alone and one in a parallel task's body runs
 * one thread per granted core; team threads inherit the worker's affinity (the granted cores),
 * and libnodus frees the worker's libgomp thread pool when the granted set changes, so that
 * reused pool threads never run on cores granted since to other tasks. This holds for the
 * OpenMP runtime the process has loaded at its first nodus_open() (GNU libgomp; with LLVM's
 * libomp only the team size is set), and not with OMP_PROC_BIND or OMP_PLACES set (libgomp
 * then pins team threads to its own places). A body's own num_threads clause or
 * omp_set_num_threads() call wins, still inside the granted cores; a smaller OMP_NUM_THREADS
 * caps the team. OpenBLAS is set to one
 * thread per call, process-wide. Regions started outside bodies keep OpenMP's defaults.
 *
 * Environment:
 *   NODUS_SOCKET          daemon socket (else /run/nodus/nodusd.sock, else the per-user daemon)
 *   NODUS_NO_AUTOSTART    never start a per-user daemon (NODUS_ECONNECT instead)
 *   NODUS_DAEMON          nodusd binary to autostart (default: the installed one, then PATH)
 *   NODUS_JOB             fair-share job name, overriding the program's choice
 *   NODUS_WEIGHT          initial job weight (the daemon caps it)
 *   NODUS_MAX_OUTSTANDING submitted-but-unfinished tasks before nodus_submit blocks (1000000)
 *   NODUS_SPIN_US, NODUS_COMM_SPIN_US   how long idle workers / the comm thread spin (50)
 *   NODUS_RECONNECT_TIMEOUT  seconds (fractions allowed) that recovery from a daemon crash may
 *                         wait for device work, and then spend reconnecting (30); 0: a lost
 *                         daemon breaks the session at once (NODUS_ECLOSED)
 *   NODUS_DEBUG           print why a session broke (and each reconnect) to stderr
 *   NODUS_HOLD_BLAS       0: leave OpenBLAS's thread count alone; otherwise nodus_open() sets
 *                         a loaded OpenBLAS to 1 thread per call, as each task holds one core
 *   NODUS_HOLD_OMP        0: leave OpenMP alone in bodies (default team: every CPU of the
 *                         process); otherwise a body's OpenMP team has its granted core count
 *                         and runs on the granted cores only (see above)
 */
#ifndef NODUS_H
#define NODUS_H

#include <stddef.h>
#include <stdint.h>

#include <nodus/errors.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NODUS_BUILDING_LIB)
#define NODUS_EXPORT __attribute__((visibility("default")))
#else
#define NODUS_EXPORT
#endif

#define NODUS_VERSION_MAJOR 0
#define NODUS_VERSION_MINOR 1
#define NODUS_VERSION_PATCH 0

/* Error codes (0 or negative); generated from NODUS_ERROR_LIST in nodus/errors.h. */
typedef enum {
#define NODUS_X_ENUM(name, value, msg) NODUS_##name = (value),
    NODUS_ERROR_LIST(NODUS_X_ENUM)
#undef NODUS_X_ENUM
} nodus_error_t;

/* A static, never-NULL description of an error code (unknown codes included). */
NODUS_EXPORT const char *nodus_strerror(int code);

/* Library version string, e.g. "0.1.0". */
NODUS_EXPORT const char *nodus_version(void);

/* A session with nodusd (opaque). */
typedef struct nodus nodus_t;

/* How a task uses a byte range. */
typedef enum {
    NODUS_IN = 1,    /* read: waits for earlier writers */
    NODUS_OUT = 2,   /* write: waits for earlier readers and writers */
    NODUS_INOUT = 3, /* read and write */
} nodus_mode_t;

/* One declared access: `len` bytes at `addr` (addresses are only keys; never dereferenced). */
typedef struct {
    const void *addr;
    size_t len;
    nodus_mode_t mode;
} nodus_access_t;

/* A task body. Runs once, on a worker thread pinned to a core the daemon granted. */
typedef void (*nodus_task_fn)(void *arg);

/*
 * Opens a session. `job` names the fair-share account (NULL: the program name; $NODUS_JOB, when
 * set, overrides both so a launcher can name jobs); `socket_path`
 * NULL means discovery: $NODUS_SOCKET, then the system socket /run/nodus/nodusd.sock, then the
 * per-user daemon, started on demand unless $NODUS_NO_AUTOSTART is set. $NODUS_WEIGHT sets the
 * initial job weight. On success *out is a session the caller closes with nodus_close().
 */
NODUS_EXPORT int nodus_open(nodus_t **out, const char *job, const char *socket_path);

/*
 * Waits for every submitted task, ends the session and frees it. Returns the first error the
 * session met (0 if none). Not callable from a task body.
 */
NODUS_EXPORT int nodus_close(nodus_t *n);

/* Sets this job's weight for fair share (1 = default share; the daemon caps it). */
NODUS_EXPORT int nodus_set_weight(nodus_t *n, unsigned weight);

/* Where an implementation of a task runs. */
typedef enum {
    NODUS_DEV_CPU = 0,    /* a plain body on a granted core */
    NODUS_DEV_CUDA = 1,   /* a body that enqueues work on nodus_cuda_stream() (nodus/cuda.h) */
    NODUS_DEV_OPENCL = 2, /* a body that enqueues work on nodus_cl_queue() (nodus/opencl.h) */
} nodus_device_kind_t;

/* Options for a task, reusable across submissions (opaque; create once, set, reuse). */
typedef struct nodus_task_attr nodus_task_attr_t;

/* Creates attributes with defaults: priority 0, 1 core, no label. Caller destroys. */
NODUS_EXPORT int nodus_task_attr_create(nodus_task_attr_t **out);
NODUS_EXPORT void nodus_task_attr_destroy(nodus_task_attr_t *attr);
/* Higher priority runs first among this session's ready tasks (device work a device can take
 * now goes first: docs/devices.md). */
NODUS_EXPORT int nodus_task_attr_set_priority(nodus_task_attr_t *attr, int priority);
/* Cores the body needs at once (a parallel task); 1..number of daemon cores. The body's thread
 * may run on all of them, and its OpenMP regions get one thread per granted core (see above). */
NODUS_EXPORT int nodus_task_attr_set_cores(nodus_task_attr_t *attr, unsigned ncores);
/* Label shown in status and traces; copied (at most 63 bytes kept). Tasks with the same label
 * share a performance model when the daemon chooses between implementations. */
NODUS_EXPORT int nodus_task_attr_set_label(nodus_task_attr_t *attr, const char *label);
/*
 * Sets the implementation of the task for one device kind (fn NULL removes it). A task offering
 * several kinds is a multi-version task: the daemon picks, per task, the kind and device that
 * should finish it first given what is free and loaded (as StarPU's codelets). The `fn` given
 * to nodus_submit() is the CPU implementation and may be NULL when `attr` offers another kind.
 * A device body only enqueues asynchronous work: its core is free when it returns, and the
 * task's successors are released when the device work completes, never by a blocking sync.
 * nodus_submit() drops the kinds the daemon has no device of; a task left with no body at all is
 * refused (NODUS_EINVAL with no body given, NODUS_ENOTSUP when only such device bodies were).
 */
NODUS_EXPORT int nodus_task_attr_set_impl(nodus_task_attr_t *attr, nodus_device_kind_t kind,
                                          nodus_task_fn fn);

/*
 * Declares that running the task's body twice is harmless (it recomputes its outputs from inputs
 * it does not overwrite). Only used after a daemon restart: a started device task whose device
 * work could not be confirmed within $NODUS_RECONNECT_TIMEOUT is then resubmitted and runs again,
 * where a task without this attribute makes the session fail with NODUS_ELOST. Default 0.
 */
NODUS_EXPORT int nodus_task_attr_set_idempotent(nodus_task_attr_t *attr, int idempotent);

/*
 * Submits a task: `fn(arg)` runs once every earlier task of this session that conflicts with
 * one of `accesses` (read-after-write, write-after-read, write-after-write, on any byte overlap)
 * has completed. `accesses` is copied; `arg` is borrowed until the body has run. `attr` may be
 * NULL. Submission is buffered and sent in batches; it never blocks on the daemon except for
 * back-pressure when too many tasks are outstanding.
 */
NODUS_EXPORT int nodus_submit(nodus_t *n, nodus_task_fn fn, void *arg,
                              const nodus_access_t *accesses, size_t naccesses,
                              const nodus_task_attr_t *attr);

/*
 * Waits until every task this session submitted so far has completed. From a body of the same
 * session it returns NODUS_ESTATE (waiting there could deadlock); so do taskwait_on and close.
 */
NODUS_EXPORT int nodus_taskwait(nodus_t *n);

/* Waits until the tasks submitted so far that access [addr, addr+len) have completed. */
NODUS_EXPORT int nodus_taskwait_on(nodus_t *n, const void *addr, size_t len);

/* Sends buffered submissions now (submit and taskwait flush on their own). */
NODUS_EXPORT int nodus_flush(nodus_t *n);

/* Number of cores the daemon owns (valid after nodus_open). */
NODUS_EXPORT int nodus_num_cores(const nodus_t *n);

/* Session id the daemon assigned (for logs and nodusctl); a new one after each reconnect. */
NODUS_EXPORT uint64_t nodus_session_id(const nodus_t *n);

/* How many times the session reconnected after losing the daemon (see above). */
NODUS_EXPORT unsigned nodus_reconnect_count(const nodus_t *n);

/* Number of devices (GPUs, OpenCL devices) the daemon owns; indices are 0..count-1. */
NODUS_EXPORT int nodus_num_devices(const nodus_t *n);
/* Kind and name (copied into name[0..len)) of device `index`; NODUS_EINVAL if out of range. */
NODUS_EXPORT int nodus_device_info(const nodus_t *n, int index, nodus_device_kind_t *kind,
                                   char *name, size_t len);

/* ---- Inside a task body (thread-local; -1/0 outside a body) ---- */

/* The OS CPU id the body runs on. */
NODUS_EXPORT int nodus_task_core(void);
/* Number of cores granted to the running task (its ncores). */
NODUS_EXPORT int nodus_task_ncores(void);
/* Copies up to `max` granted CPU ids into `cores`; returns how many were granted. */
NODUS_EXPORT int nodus_task_cores(int *cores, int max);
/* The id of the running task: its submission sequence number in this session (1, 2, ...), the
 * daemon's id too until the first reconnect; it never changes across reconnects. */
NODUS_EXPORT uint64_t nodus_task_id(void);
/* The kind of implementation running (NODUS_DEV_CPU outside a device body). */
NODUS_EXPORT nodus_device_kind_t nodus_task_device_kind(void);
/* The daemon's index of the device the running implementation targets (-1 for CPU bodies). */
NODUS_EXPORT int nodus_task_device(void);

#ifdef __cplusplus
}
#endif

#endif /* NODUS_H */
