/*
 * A model of one client session, built from the bytes the fuzz harness sends: which tasks the
 * daemon was told about (ids, accesses), which the client reported done, which Waits it asked
 * for. fuzz_session judges the daemon's Grants and WaitDones against it: a task is granted only
 * on an implementation it offers, and only after every earlier task it conflicts with
 * (overlapping ranges, not both IN) has completed (a CPU task at its Done, an OpenCL-granted one
 * at its DeviceDone); a Wait is answered only after the tasks it waits for; and once every grant
 * is answered and the daemon is idle, every task has completed and every Wait has been answered.
 *
 * The model follows a session only while its traffic stays in what it understands (a client
 * Hello, then valid Submit, Done, DeviceDone, Wait, SetWeight and StatusRequest); anything else
 * turns it off for that session, and the sanitizers and invariants are left to judge.
 */
#ifndef NODUS_FUZZ_SESSION_MODEL_H
#define NODUS_FUZZ_SESSION_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

typedef struct model_access {
    uint64_t addr, len;
    int in; /* read-only access */
} model_access_t;

typedef struct model_task {
    model_access_t *acc; /* owned */
    uint32_t nacc;
    uint32_t impls;     /* DeviceKind bits offered (0: CPU only) */
    int granted_opencl; /* its grant named an OpenCL device: complete at DeviceDone */
    int done;           /* a Done for it was sent */
    int device_done;    /* a DeviceDone for it was sent */
} model_task_t;

typedef struct model_wait {
    uint64_t token;
    uint64_t last_id;   /* tasks 1..last_id were submitted before it */
    uint64_t addr, len; /* len 0: waits for all of them */
    int answered;
} model_wait_t;

typedef struct session_model {
    unsigned ncores;     /* the daemon's (bounds TaskSpec.ncores, as its validation does) */
    int off;             /* the traffic left what the model follows */
    int client;          /* a client Hello was sent */
    int tokens_reused;   /* a Wait token was sent twice: WaitDones cannot be told apart */
    int bad_frame;       /* a frame length the daemon refuses was sent (it drops the peer) */
    frame_reader_t sent; /* parses what the harness sent */
    model_task_t *tasks; /* task id i + 1 at index i (owned) */
    size_t ntasks, tasks_cap;
    model_wait_t *waits; /* owned */
    size_t nwaits, waits_cap;
} session_model_t;

/* An empty model of a session on a daemon that owns `ncores` cores. */
void model_init(session_model_t *m, unsigned ncores);
void model_free(session_model_t *m);
/* Takes in bytes the harness has sent to the daemon, in order (borrowed). */
void model_sent(session_model_t *m, const uint8_t *p, size_t n);
/*
 * Judges (and records) a Grant of task `id` on an implementation of `kind` (DeviceKind): NULL if
 * it is consistent, else the reason (static).
 */
const char *model_on_grant(session_model_t *m, uint64_t id, uint32_t kind);
/* Judges (and records) a WaitDone for `token`: NULL or the reason. */
const char *model_on_wait_done(session_model_t *m, uint64_t token);
/*
 * Whether the bytes sent end inside a frame: the daemon then takes whatever is sent next, Dones
 * included, as the rest of that frame, so this client's grants cannot be answered.
 */
int model_mid_frame(const session_model_t *m);
/* With every grant answered and the daemon idle: NULL if nothing is left, else the reason. */
const char *model_check_quiescent(const session_model_t *m);

#endif
