/*
 * The core scheduler: which ready task of which session runs on which core, node-wide.
 *
 * Invariants: a core is free or busy. A busy core has one head task (the one whose body runs)
 * and, with lookahead, up to `lookahead` queued tasks of the head's client behind it; so at most
 * one task body runs on a core at any instant, and tasks of two sessions never share a core's
 * queue. A task with ncores = k heads k cores at once. An idle core goes to any client with
 * ready work. Between clients with ready work, core-time is shared by weighted fair share: each
 * job (uid + job name; several sessions, e.g. MPI ranks, may belong to one job) has a virtual
 * time = core-ns used / weight, and the job with the smallest virtual time goes first; a job
 * that becomes active again starts at the smallest virtual time of the active jobs (no credit
 * hoarded while idle). Within a job, the session with the least core-time goes first; within a
 * session, higher priority first, then submission order, except that device work goes first
 * (see Devices). Among free cores, a session gets the one it last used when it can.
 *
 * A task needing more cores than are free is passed over (others backfill) until it has waited
 * `reserve_after_ns`; from then on free cores are held for it so it cannot starve.
 *
 * Lookahead. A daemon round trip (grant -> body -> done -> next grant) would leave a core idle
 * between two short tasks, so once the free cores are filled, sched_dispatch() also grants
 * tasks ahead of time on busy cores. The client's worker for a core runs its grants in FIFO
 * order, so a queued task starts the moment the body before it returns. A task is queued on
 * busy core c only if all of these hold:
 *   - c's head is a 1-core task, and the head's client has a ready CPU-only head task with
 *     ncores = 1 (it is the task queued: lookahead takes tasks in the client's usual order), and
 *     no device-capable task of that client would take its next free core first (see Devices);
 *   - the client's measured task time is below lookahead_max_ns: an exponential moving average
 *     (alpha = 1/8) of finish - start over its finished 1-core tasks; until 8 have finished,
 *     no lookahead;
 *   - no reservation for a wide task is active;
 *   - the client is one fair share would serve next: its job has the smallest vtime among jobs
 *     with ready work, and it has the least core-time among that job's sessions with ready work
 *     (ties allowed at both levels). When someone else is more deserving, the client's cores
 *     are not refilled: each frees when its queue has run out, and normal dispatch gives it to
 *     the deserving one.
 * Queues are filled level by level over the client's cores (a first queued task on each before
 * a second on any), up to `lookahead` per core. Queued tasks are granted (RUNNING, reported in
 * sched_dispatch's output like any grant) but are charged nothing until they become the head:
 * when the head finishes, the first queued task becomes the head with start_ns = now and the
 * core stays busy, charged to the same client without a gap. Tasks on a core finish in FIFO
 * order (one worker runs them one after another), so only a head may finish.
 *
 * Devices (docs/devices.md). Devices are added before any client (sched_add_device). A task
 * offers implementations (task->impls, a DeviceKind bit mask; 0 or 1 = CPU only). CPU-only tasks
 * take the path above. For a task that offers a device kind, placement (placement.h) chooses
 * among the CPU (if offered and enough cores are free) and each device of an offered
 * kind with capacity: its tasks in flight below max_in_flight, the session's in flight on it
 * below max_per_session, and for a CPU device (an OpenCL CPU device such as PoCL) its cores free
 * or already held by it, plus another free core for the body. A device grant runs the body on
 * one core (task->ncores becomes 1) and names the device and its least-loaded slot. "In flight"
 * counts a device-granted task from its grant until sched_device_complete(): the body phase
 * (RUNNING, on a core) and the device phase (TASK_DEVICE, no core).
 *
 * Device-first dispatch. A session keeps its ready tasks in two queues, each in (priority,
 * submission) order: CPU-only tasks, and device-capable ones (that offer a device kind, with or
 * without a CPU implementation). An idle device goes to device work the way an idle core goes to
 * any work: when fair share serves a session, the head of its device-capable queue goes first if
 * placement puts it on a device now, ahead of CPU-only tasks that became ready earlier or have a
 * higher priority (the device is the long pole; its body only enqueues). If a device has room
 * but the cores a CPU device holds are busy, it waits for cores like a wide task, ahead of the
 * session's CPU-only tasks (others backfill until it is the reservation). Otherwise the first
 * by (priority, seq) of the CPU-only head and a device-capable head that placement puts on the
 * CPU goes; a device-capable head for which nothing offered has room waits without holding up
 * the CPU-only tasks. When the only obstacle is busy cores (a CPU device's cores, or too few for
 * a wide CPU implementation), the task waits like a wide task and becomes the reservation after
 * reserve_after_ns, so it cannot starve. Lookahead only ever queues CPU-only tasks, and stops
 * refilling a session's queues while its device-capable head would take its next free core
 * first (on a device, or on the CPU ahead in order), so one of its cores frees for it.
 *
 * A CPU device's cores are held from the grant of a task on it (when not held already) until its
 * in-flight count drops to 0: held cores are neither free nor heads, so nothing is placed or
 * queued on them. The core invariant becomes: a core is free, heads one body (with its lookahead
 * queue), or is held by one CPU device. Held core-time (k cores x time held) is charged to the
 * sessions with tasks in flight on the device, split evenly between those tasks, each time the
 * set of tasks in flight changes (grant, completion, client removal).
 *
 * Pure logic with injected time: no I/O, no libuv. Loop thread only.
 */
#ifndef NODUS_SCHED_H
#define NODUS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

typedef struct sched sched_t;
typedef struct sched_client sched_client_t;

typedef struct sched_config {
    uint32_t default_weight;   /* weight for a new job whose client asks for 0 */
    uint32_t max_weight;       /* cap on requested weights */
    uint64_t reserve_after_ns; /* see above; 0 = reserve at once */
    uint32_t lookahead;        /* max tasks queued per busy core; 0 disables (at most 64) */
    uint64_t lookahead_max_ns; /* lookahead only for clients whose tasks average less */
} sched_config_t;

/* One placement decided by sched_dispatch(): a task on free cores, or queued on a busy core. */
typedef struct sched_grant {
    task_t *task; /* now RUNNING; task->cores[0..ncores) hold its core indices */
    sched_client_t *client;
    uint32_t kind;   /* DeviceKind of the implementation to run (0 = CPU) */
    uint32_t device; /* sched device index (kind != CPU) */
    uint32_t slot;   /* stream / queue slot on that device */
} sched_grant_t;

/* Creates a scheduler over `ncores` cores with OS CPU ids `cpus` (copied). NULL on bad input. */
sched_t *sched_create(const uint32_t *cpus, size_t ncores, const sched_config_t *cfg);
/*
 * Replaces the configuration at now_ns (SIGHUP reload), normalised as sched_create does. Each
 * job's weight is worked out again from the last weight one of its sessions asked for (or the
 * new default if none did), capped by the new max_weight, without a jump in its vtime. A lower
 * lookahead lets longer queues run down; reserve_after_ns and lookahead_max_ns apply from the
 * next dispatch.
 */
void sched_set_config(sched_t *s, const sched_config_t *cfg, uint64_t now_ns);
/* The configuration in force (normalised). */
void sched_get_config(const sched_t *s, sched_config_t *cfg);
/* Frees the scheduler; every client must have been removed. */
void sched_destroy(sched_t *s);

/* Number of cores, and the OS CPU id of core index i. */
size_t sched_ncores(const sched_t *s);
uint32_t sched_core_cpu(const sched_t *s, size_t i);
/* The head (running) task on core index i, or NULL if free. */
task_t *sched_core_task(const sched_t *s, size_t i);
/* Lookahead tasks queued behind the head of core index i (0 if free or out of range). */
size_t sched_core_queued(const sched_t *s, size_t i);
/* The client that last ran a task on core i (NULL if none or removed). */
sched_client_t *sched_core_last_client(const sched_t *s, size_t i);
/* Free cores right now. */
size_t sched_free_cores(const sched_t *s);
/* The device holding core index i, or -1 (free, busy with a body, or out of range). */
int sched_core_held_by(const sched_t *s, size_t i);

/*
 * Adds a device of `kind` (DeviceKind, not CPU) before any client: `slots` streams or queues,
 * at most `max_in_flight` tasks in flight on it and `max_per_session` per session (both >= 1).
 * A CPU device lists the core indices it holds while it has work (`ncores_held` > 0, distinct,
 * fewer than the cores: one must stay for bodies). Returns the device index (0, 1, ... in the
 * order added) or NODUS_EINVAL / NODUS_ELIMIT / NODUS_ENOMEM / NODUS_ESTATE (clients exist).
 */
int sched_add_device(sched_t *s, uint32_t kind, uint32_t slots, uint32_t max_in_flight,
                     uint32_t max_per_session, const uint32_t *core_indices, size_t ncores_held);
/* Number of devices; a bit mask of the kinds present (CPU bit always set). */
size_t sched_ndevices(const sched_t *s);
uint32_t sched_kinds(const sched_t *s);
/* Device d: tasks in flight (granted, not yet device-complete), their limit, tasks completed. */
uint32_t sched_device_in_flight(const sched_t *s, size_t d);
uint32_t sched_device_max_in_flight(const sched_t *s, size_t d);
uint64_t sched_device_completed(const sched_t *s, size_t d);
/* Device d's tasks in flight on slot `slot`. */
uint32_t sched_device_slot_load(const sched_t *s, size_t d, uint32_t slot);
/* Whether CPU device d holds its cores now. */
int sched_device_cores_held(const sched_t *s, size_t d);
/* Client c's tasks in flight on device d; its tasks in the device phase (TASK_DEVICE). */
uint32_t sched_client_device_in_flight(const sched_client_t *c, size_t d);
size_t sched_client_device(const sched_client_t *c);

/*
 * The device work of task t of client c (TASK_DEVICE) completed at now_ns: t leaves its device
 * (in-flight counts, slot, backlog), its time since the grant is sampled into the model, and a
 * CPU device whose in-flight count returns to 0 releases its cores. t stays TASK_DEVICE for the
 * caller's deps_complete(). Returns 0, or NODUS_EINVAL with nothing changed if t is not in flight
 * on a device for c.
 */
int sched_device_complete(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns);

/*
 * Adds a client (a session's scheduling state) to the job (uid, job). `weight` 0 asks for
 * nothing: a new job gets the default, an existing job keeps its weight. Larger weights are
 * capped at max_weight. A job's weight is the last non-zero one set by any of its sessions.
 * `owner` is returned by sched_client_owner(). NULL on OOM.
 */
sched_client_t *sched_client_add(sched_t *s, uint32_t uid, const char *job, uint32_t weight,
                                 void *owner);
/*
 * Removes a client: the cores it heads are freed at once (charged up to now_ns), dropping the
 * tasks queued on them, its ready tasks leave the queue, and its tasks in flight on devices leave
 * them (a CPU device left with none releases its cores). The tasks are not freed (they belong to
 * the session).
 */
void sched_client_remove(sched_t *s, sched_client_t *c, uint64_t now_ns);
/*
 * Sets the client's job weight at now_ns (0 = default, capped); returns the weight in force.
 * Core-time used so far keeps the price it had: the job's vtime does not jump.
 */
uint32_t sched_client_set_weight(sched_t *s, sched_client_t *c, uint32_t weight, uint64_t now_ns);
void *sched_client_owner(const sched_client_t *c);
uint32_t sched_client_weight(const sched_client_t *c);
/* Core-ns used by this client: finished tasks plus heads up to now_ns (queued ones: nothing). */
uint64_t sched_client_core_ns(const sched_client_t *c, uint64_t now_ns);
/* Tasks in this client's ready queues (both), and granted (running heads plus queued lookahead). */
size_t sched_client_ready(const sched_client_t *c);
size_t sched_client_running(const sched_client_t *c);

/*
 * Queues a READY task of client c. Returns 0, NODUS_EINVAL if t is not READY or is already
 * queued, or NODUS_ENOMEM if the ready queue cannot grow (t is then not queued). t->impls must
 * not change while t is queued (it decides which of the client's two queues holds t).
 */
int sched_push_ready(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns);

/*
 * Places ready tasks on free cores, then queues lookahead tasks on busy cores (see above), until
 * there is nothing more to do or `max` grants are written to `out`; each granted task becomes
 * RUNNING. Returns the number of grants; when it is `max`, call again for the rest.
 */
size_t sched_dispatch(sched_t *s, uint64_t now_ns, sched_grant_t *out, size_t max);

/*
 * The body of task t of client c returned. t must be the head of each of its cores; the head is
 * charged (now - start_ns) x ncores. On each core the first queued task becomes the head
 * (start_ns = now_ns; the core stays busy); a core with none queued becomes free. A CPU-granted
 * task stays RUNNING (the caller completes it); a device-granted one becomes TASK_DEVICE, still in
 * flight on its device until sched_device_complete(). Returns 0, or NODUS_EINVAL with nothing
 * changed if t is not a head of c (not granted, another client's, or still queued behind another
 * task: the caller drops the peer).
 */
int sched_task_finished(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns);

#endif
