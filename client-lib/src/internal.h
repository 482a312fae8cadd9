/*
 * The private session object of libnodus, shared by its modules (conn, comm, worker, submit,
 * table, wait, nodus).
 *
 * Threads and locks of one session:
 *   - application threads call the public API;
 *   - one comm thread owns the socket after the handshake: it packs and writes everything the
 *     session sends, reads and dispatches everything the daemon sends;
 *   - one worker thread per daemon core (started on that core's first grant) runs task bodies;
 *   - OpenCL runtime threads run the marker callbacks of OpenCL tasks (ocl.c).
 *
 *   When the daemon goes away without a word (a crash), the comm thread recovers the session
 *   (reconnect.c, replay.c) and the other threads just keep waiting; see docs/protocol.md,
 *   "Daemon restarts".
 *
 *   `lock` guards the submission buffer, the task table, the waiter list, the counters and the
 *   flags below it; `done_lock` guards the three completion queues (done, CUDA done, device
 *   done: workers and OpenCL callbacks push, comm drains all three in one critical section, so
 *   a DeviceDone never overtakes the Done of its task); each worker guards its own mailbox; the
 *   device backends have their own locks (ocl.c, cuda_dev.c). Lock order: lock -> worker mailbox
 *   lock; done_lock and the backend locks are never held with another lock of the session.
 */
#ifndef NODUS_CLIENT_INTERNAL_H
#define NODUS_CLIENT_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus.h"
#include "nodus.pb-c.h"
#include "nodus_limits.h"

#include "device.h"
#include "table.h"

struct comm;
struct replay;
struct worker;
struct ocl_session;
struct cuda_session;

/* Tasks submitted but not yet packed for the daemon, in program order. */
typedef struct submit_buf {
    struct pending_task *tasks; /* owned */
    size_t ntasks, tasks_cap;
    Nodus__V1__Access *accesses; /* owned; every task's accesses, back to back */
    size_t naccesses, accesses_cap;
    char *labels; /* owned; NUL-terminated labels, back to back */
    size_t labels_len, labels_cap;
} submit_buf_t;

/* One pending task; its accesses and label live in the buffer's pools. */
typedef struct pending_task {
    uint64_t id;
    int32_t priority;
    uint32_t ncores;
    uint32_t first_access; /* index into submit_buf.accesses */
    uint32_t naccesses;
    uint32_t label_off; /* offset into submit_buf.labels; UINT32_MAX: no label */
    uint32_t impls;     /* TaskSpec.impls: 1 << kind for every kind with a body */
} pending_task_t;

/* A CUDA task's body returned: its completion event, for the Done that reports it. */
typedef struct cuda_done {
    uint64_t id;
    uint32_t pool_index;
    bool has_handle; /* first use of this pool entry: send the IPC handle */
    uint8_t handle[NODUS_CUDA_IPC_HANDLE_SIZE];
} cuda_done_t;

/* A thread blocked in taskwait; lives on that thread's stack, linked in nodus.waiters. */
typedef struct waiter {
    uint64_t token;
    uint64_t addr, len; /* len 0: every task */
    bool sent;          /* the comm thread has packed its Wait */
    bool done;          /* WaitDone arrived */
    struct waiter *prev, *next;
} waiter_t;

struct nodus {
    /* ---- fixed after nodus_open ---- */
    int fd;      /* socket; the comm thread's after open (replaced when it reconnects) */
    int wake_fd; /* eventfd that wakes the comm thread */
    _Atomic uint64_t session_id; /* the daemon's id; a new one after each reconnect */
    uint32_t *cpus;              /* OS CPU ids the daemon owns (Welcome order); owned */
    size_t ncpus;
    int32_t *cpu_worker;           /* OS CPU id -> index in cpus/workers, -1 if not ours; owned */
    size_t cpu_worker_len;         /* max CPU id + 1 */
    size_t cpuset_size;            /* CPU_ALLOC_SIZE(cpu_worker_len) */
    uint32_t max_frame;            /* largest frame payload we may send (comm thread after open) */
    uint32_t max_tasks_per_submit; /* likewise */
    uint64_t max_outstanding;      /* back-pressure bound on submitted, not done tasks */
    uint64_t spin_ns;              /* how long an idle worker spins before sleeping */
    uint64_t comm_spin_ns;         /* how long the comm thread polls before sleeping */
    sigset_t host_sigmask;         /* signal mask of the thread that opened the session */
    bool debug;                    /* $NODUS_DEBUG: say on stderr why a session broke */
    unsigned fork_generation;      /* session_fork_generation at open */
    struct worker *workers;        /* ncpus entries, threads started lazily; owned */
    struct comm *comm;             /* comm thread state; owned */
    pthread_t comm_thread;
    bool comm_started;
    device_t *devices; /* Welcome.devices, by daemon index; owned */
    size_t ndevices;
    struct ocl_session *ocl;   /* OpenCL state (ocl.c), set up lazily; owned */
    struct cuda_session *cuda; /* CUDA state (cuda_dev.c), set up lazily; owned */
    char *socket_path;         /* nodus_open's socket_path (NULL: discovery); owned */
    char *job;                 /* nodus_open's job (NULL: the default); owned */
    uint64_t reconnect_ms;     /* $NODUS_RECONNECT_TIMEOUT; 0: a lost daemon breaks the session */
    struct replay *replay;     /* what a reconnect resubmits (replay.c); comm thread only; owned */

    /* ---- connection generation: bumped by the comm thread when the daemon is lost ---- */
    atomic_uint epoch;      /* grants of an older epoch are not started (worker.c) */
    atomic_uint reconnects; /* successful reconnections so far */

    /* ---- session health: 0 or the first error (never changes back) ---- */
    _Atomic int error;

    /* ---- guarded by lock ---- */
    pthread_mutex_t lock;
    pthread_cond_t wait_cv;  /* waiters and flushers: WaitDone, flush progress, errors */
    pthread_cond_t space_cv; /* submitters blocked by back-pressure */
    uint64_t next_id;        /* id the next submitted task gets (first is 1) */
    submit_buf_t pending;    /* submitted, not yet taken by the comm thread */
    task_table_t table;      /* every task submitted and not done */
    uint64_t outstanding;    /* submitted, not done */
    unsigned space_waiters;
    unsigned flush_waiters;
    uint64_t flushed_upto; /* every task id <= this has been written to the socket */
    waiter_t *waiters;     /* list of threads in taskwait */
    size_t waits_unsent;   /* waiters whose Wait the comm thread has not packed yet */
    uint64_t next_token;
    uint32_t weight_to_send; /* 0: none */
    uint32_t weight;         /* the weight asked for last (Hello of a reconnect); 0: default */
    uint64_t in_body;        /* tasks GRANTED: handed to a worker, body not yet reported */
    uint64_t in_device;      /* tasks in TASK_ENTRY_DEVICE (OpenCL work in flight) */
    bool closing;            /* nodus_close: send Bye and stop */
    bool cuda_used; /* a CUDA task was granted: only the daemon knows when its work ended */

    /* ---- guarded by done_lock ---- */
    pthread_mutex_t done_lock;
    uint64_t *done_ids; /* bodies returned, not yet reported; owned */
    size_t ndone, done_cap;
    cuda_done_t *cuda_done; /* CUDA bodies returned, with their events; owned */
    size_t ncuda_done, cuda_done_cap;
    uint64_t *device_done_ids; /* OpenCL device work completed, not yet reported; owned */
    size_t ndevice_done, device_done_cap;

    /* comm thread wake-up protocol; see comm_wake() */
    atomic_bool comm_idle; /* the comm thread may block in poll(): write wake_fd */
    atomic_bool work_hint; /* something was queued since the comm thread's last collect */
};

/* Sets entry `e` (of a live task) to `state`, keeping in_body and in_device. Under n->lock. */
static inline void session_task_state(nodus_t *n, task_entry_t *e, task_entry_state_t state)
{
    if (e->state == TASK_ENTRY_GRANTED) n->in_body--;
    if (e->state == TASK_ENTRY_DEVICE) n->in_device--;
    if (state == TASK_ENTRY_GRANTED) n->in_body++;
    if (state == TASK_ENTRY_DEVICE) n->in_device++;
    e->state = (uint8_t)state;
}

/* Bumped in the child of every fork(): a session opened before it has no threads there. */
extern __attribute__((visibility("hidden"))) atomic_uint session_fork_generation;

/* The session's error, 0 if healthy (NODUS_ECLOSED in a forked child). Any thread. */
static inline int session_error(const nodus_t *n)
{
    int e = atomic_load_explicit(&((nodus_t *)n)->error, memory_order_acquire);
    if (e == 0 &&
        atomic_load_explicit(&session_fork_generation, memory_order_relaxed) != n->fork_generation)
        return NODUS_ECLOSED;
    return e;
}

/* Copies `src` as a protocol name into dst[NODUS_MAX_NAME + 1]: at most NODUS_MAX_NAME bytes,
 * cut on a UTF-8 boundary, control characters replaced by '?'. Returns the length. */
size_t name_copy(char *dst, const char *src);

/* A NODUS_E* code received from the daemon, or NODUS_EPROTO if it is not one we know. */
int error_from_wire(int32_t code);

/*
 * Records `code` (negative) as the session's error if it has none, and wakes every thread that
 * waits on the session. Any thread; must not hold n->lock.
 */
void session_fail(nodus_t *n, int code);

#endif
