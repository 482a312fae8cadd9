/*
 * The daemon's global state: one instance, owned by main(), living on the loop thread. Every
 * session, the listening socket and the loop-level handles hang off it. Also the loop-level glue
 * that is neither a session nor the listener: the dispatch pass (scheduler -> Grants), the
 * output flush, idle exit and orderly shutdown.
 */
#ifndef NODUS_DAEMON_H
#define NODUS_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "admin.h"
#include "config.h"
#include "cuda_tracker.h"
#include "deps.h"
#include "devices.h"
#include "limits.h"
#include "nodus.pb-c.h"
#include "sched.h"

struct session;
struct server;
struct trace;
struct trace_ring;

/*
 * Loads the configuration again for a reload (defaults, file, NODUS_CONFIG_OVERRIDE, then the
 * command-line flags, which keep winning): 0, or a negative code with the reason in err.
 */
typedef int (*daemon_config_loader_t)(void *ctx, nodus_config_t *cfg, char *err, size_t errlen);

/* Daemon-wide counters (StatusReply.counters). */
typedef struct daemon_counters {
    uint64_t sessions_total;
    uint64_t sessions_dropped; /* peers dropped for protocol violations */
    uint64_t tasks_submitted;
    uint64_t tasks_done;
    uint64_t grants;
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t sessions_refused; /* Hellos refused by limits.max_sessions_per_user */
    uint64_t frames_refused;   /* frames longer than limits.max_message_bytes */
} daemon_counters_t;

/* Scratch arrays reused by every dispatch pass and message handler (grow-only, owned). */
typedef struct daemon_scratch {
    sched_grant_t *grants; /* sched_dispatch() output */
    size_t grants_cap;
    deps_access_t *accesses; /* one task's accesses, converted for deps_add() */
    size_t accesses_cap;
    Nodus__V1__Grant *pb_grants; /* one Grants message being encoded */
    size_t pb_grants_cap;
    Nodus__V1__Grant **pb_grant_ptrs;
    size_t pb_grant_ptrs_cap;
    uint32_t *pb_cpus; /* the granted CPU ids of that message, back to back */
    size_t pb_cpus_cap;
} daemon_scratch_t;

typedef struct daemon {
    uv_loop_t *loop;    /* borrowed */
    nodus_config_t cfg; /* effective configuration */
    sched_t *sched;     /* owned */
    uint32_t *cpus;     /* owned: OS CPU ids of the cores, index = sched core index */
    size_t ncores;
    struct server *server;    /* owned by main(); NULL once closed */
    struct session *sessions; /* every session whose handle is not yet closed (list head) */
    size_t nsessions_open;    /* sessions not yet CLOSED */
    size_t nclients;          /* sessions in state CLIENT: a drain waits for these */
    struct session *granted;  /* sessions holding grants of the current dispatch pass */
    uint64_t next_session_id;
    daemon_counters_t counters;
    uint64_t start_ns; /* uv_hrtime() at start-up */
    uint64_t now_ns;   /* uv_hrtime() cached at the start of the current callback */
    int dirty;         /* scheduler state changed: a dispatch pass is due */
    int stopping;      /* shutting down: no new sessions */
    int draining;      /* refuses new client sessions (EDRAINING); set while stopping too */
    int trim_due;      /* many tasks were live: trim the heap once none is (daemon.c) */
    uv_prepare_t prepare;
    uv_signal_t sig_int, sig_term, sig_hup; /* service.c */
    uv_timer_t idle_timer;
    uv_timer_t drain_timer;          /* service.c: the drain timeout, or the deferred stop */
    uv_timer_t watchdog_timer;       /* notify.c: WATCHDOG=1 every WATCHDOG_USEC / 2 */
    uv_timer_t status_timer;         /* notify.c: STATUS= at most once per second */
    uv_idle_t trace_idle;            /* ctl_trace.c: keeps the loop turning while a trace is sent */
    int notify_status;               /* systemd listens: STATUS= lines are wanted */
    char status_line[160];           /* the last STATUS= sent */
    uint64_t status_done, status_ns; /* tasks_done and the time at the previous status tick */
    admin_group_t admin;             /* daemon.admin_group, resolved */
    daemon_config_loader_t load_config; /* for reloads; set by main() */
    void *load_ctx;
    struct trace *trace;           /* NODUS_TRACE_GRANTS, or NULL */
    struct trace_ring *trace_ring; /* the trace being recorded, or NULL (nodusctl trace) */
    size_t trace_exports;          /* CTL sessions being sent a trace */
    char *trace_buf;               /* a chunk of trace JSON being encoded (owned) */
    daemon_scratch_t scratch;
    limits_t limits;      /* per-user sessions and outstanding tasks (config [limits]) */
    size_t live_sessions; /* session objects allocated (freed in their close callback) */
    size_t held_bytes;    /* input held back by the task limit, all sessions (session_hold.c) */
    struct lost_check *lost_checks; /* session_lost.c: peer checks pending (owned) */
    devices_t devices;              /* owned: the accelerators (index = sched device index) */
    cuda_tracker_t *cuda_tracker;   /* owned; NULL without CUDA devices */
} daemon_t;

/*
 * Initialises *d on `loop` with the configuration, the cores (`cpus` is taken over and freed by
 * daemon_free) and the devices discovered for them (`devices` is taken over: *devices is zeroed;
 * NULL for none). Adds the devices to the scheduler, starts the CUDA tracker when there are CUDA
 * devices, the prepare handle, signal handlers and the idle timer. Returns 0 or NODUS_ENOMEM /
 * NODUS_EINVAL.
 */
int daemon_init(daemon_t *d, uv_loop_t *loop, const nodus_config_t *cfg, uint32_t *cpus,
                size_t ncores, devices_t *devices);
/* Stops serving: closes the listener, every session and the loop handles; uv_run then returns. */
void daemon_stop(daemon_t *d, const char *reason);
/* Frees what daemon_init allocated, after the loop has finished (all sessions closed). */
void daemon_free(daemon_t *d);

/* Marks the scheduler dirty: a dispatch pass runs before the loop next blocks. */
static inline void daemon_mark_dirty(daemon_t *d)
{
    d->dirty = 1;
}

/*
 * Called by session code when a session enters / leaves the open set (idle-exit accounting);
 * `was_client` says the session closing was a CLIENT (a drain ends with the last one).
 */
void daemon_session_opened(daemon_t *d);
void daemon_session_closed(daemon_t *d, int was_client);
/* Re-arms the idle-exit timer with cfg.idle_exit_s when no session is open (or stops it). */
void daemon_idle_rearm(daemon_t *d);
/* The scheduler's configuration for daemon configuration c. */
void daemon_sched_config(const nodus_config_t *c, sched_config_t *out);

#endif
