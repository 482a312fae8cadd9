/*
 * The daemon's task object, shared by deps (graph), sched (ready queues, cores) and session
 * (ownership, ids). Lives on the loop thread only. Reference counted: the session holds one
 * reference while the task is live (not yet complete), the dependency engine one per place it
 * records the task (last writer or reader of a range).
 */
#ifndef NODUS_TASK_H
#define NODUS_TASK_H

#include <stdint.h>

#include "nodus_limits.h"

struct session;
struct sched_client;

typedef enum task_state {
    TASK_WAITING = 0, /* has unfinished predecessors */
    TASK_READY,       /* in its session's ready queue */
    TASK_RUNNING,     /* granted: the head of its core(s) runs its body in the client, or (a
                         lookahead grant) it waits on its core behind the running head */
    TASK_DEVICE,      /* device task whose body returned: in flight on the device; core already
                         free; complete when the device work is (docs/devices.md) */
    TASK_DONE,        /* complete: successors released */
} task_state_t;

typedef enum task_kind {
    TASK_KIND_CPU = 0, /* a body that runs on granted cores */
    TASK_KIND_WAIT,    /* virtual: a taskwait_on(range); completes as soon as it is ready */
} task_kind_t;

typedef struct task {
    uint64_t id;             /* client's per-session id; 0 for virtual tasks */
    struct session *session; /* owner, borrowed */
    task_kind_t kind;
    task_state_t state;
    int32_t priority;
    uint32_t ncores; /* >= 1 */
    uint32_t refs;

    /* deps */
    uint32_t npreds; /* predecessors not yet complete */
    uint32_t nsucc, succ_cap;
    struct task **succ; /* owned array of borrowed pointers */
    uint64_t mark;      /* deps_add serial that last linked to this task (dedupe) */

    /* sched */
    uint64_t seq;      /* FIFO order among equal priorities */
    uint32_t heap_pos; /* index in the client's ready heap */
    uint32_t core0;    /* storage for a 1-core grant */
    uint32_t *cores;   /* granted core indices (sched's numbering); &core0 or owned */
    uint64_t ready_ns;
    uint64_t start_ns; /* when it became the head of its cores (charging starts) */

    /* devices (sched): what the task offers and where it was placed */
    uint32_t impls;      /* DeviceKind bit mask offered (1 << kind); 0 or 1 = CPU only */
    uint32_t grant_kind; /* DeviceKind of the implementation granted (0 = CPU) */
    uint32_t device;     /* sched device index (grant_kind != CPU) */
    uint32_t slot;       /* stream / queue slot on that device */
    uint64_t label_hash; /* model key (placement_label_hash), set when first placed */
    uint64_t grant_ns;   /* when it was granted (model samples start here) */
    uint64_t est_ns;     /* device: model estimate at the grant, part of the device backlog */
    int on_device;       /* listed in its device's in-flight list, for dev_client */
    struct sched_client *dev_client;  /* borrowed */
    struct task *dev_prev, *dev_next; /* that list */

    /* session */
    struct task *live_prev, *live_next; /* session's list of live tasks */
    uint64_t wait_token;                /* TASK_KIND_WAIT: the Wait to answer */
    int awaiting_event; /* CUDA task moved to DEVICE by the Done being handled, no event yet */
    char label[NODUS_MAX_NAME + 1];
} task_t;

/* Allocates a task with one reference (the creator's), state WAITING, ncores 1. NULL on OOM. */
task_t *task_create(uint64_t id, struct session *session);
/* Takes a reference. */
void task_ref(task_t *t);
/* Drops a reference; frees the task (and its arrays) at zero. */
void task_unref(task_t *t);
/* Tasks allocated and not yet freed, daemon-wide (StatusReply.counters.live_tasks). */
uint64_t task_live_count(void);

#endif
