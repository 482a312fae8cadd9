/*
 * Loop-level glue. Before the loop blocks (uv_prepare), the dispatch pass asks the scheduler to
 * place ready tasks on free cores, groups the placements into one Grants message per session,
 * and flushes every session's output, so a burst of Submit/Done messages read in one iteration
 * costs one sched_dispatch run and one write per peer. Also idle exit and orderly shutdown.
 */
#include "array.h"
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "ctl.h"
#include "log.h"
#include "nodus.h"
#include "notify.h"
#include "server.h"
#include "service.h"
#include "session.h"
#include "trace.h"
#include "trace_ring.h"

/* Grants taken from the scheduler per sched_dispatch() call. */
#define DAEMON_GRANT_BATCH 256u
/* Live tasks past which the heap is trimmed once the daemon has none left (trim_heap). */
#define DAEMON_TRIM_AFTER_TASKS 65536u

/*
 * After a burst of tasks, gives the freed heap back to the kernel once no task is left: glibc
 * keeps freed memory for reuse, so without this nodusd's RSS would stay at its peak for good
 * (docs/BENCHMARKS.md, soak). One malloc_trim per burst, when the daemon is idle anyway.
 */
static void trim_heap(daemon_t *d)
{
    uint64_t live = task_live_count();
    if (live > DAEMON_TRIM_AFTER_TASKS) d->trim_due = 1;
    if (!d->trim_due || live > 0) return;
    d->trim_due = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Runs the scheduler and turns its placements into Grants messages. */
static void dispatch_pass(daemon_t *d)
{
    daemon_scratch_t *sc = &d->scratch;
    d->dirty = 0;
    d->now_ns = uv_hrtime();
    for (;;) {
        size_t n = sched_dispatch(d->sched, d->now_ns, sc->grants, sc->grants_cap);
        for (size_t i = 0; i < n; i++) {
            session_t *s = sched_client_owner(sc->grants[i].client);
            d->counters.grants++;
            if (!s->granted_listed) {
                s->granted_listed = 1;
                s->granted_next = d->granted;
                d->granted = s;
            }
            session_add_grant(s, sc->grants[i].task);
        }
        if (n < sc->grants_cap) break;
    }
    /* every grant is recorded before any session may be dropped (which frees its tasks) */
    while (d->granted) {
        session_t *s = d->granted;
        d->granted = s->granted_next;
        s->granted_next = NULL;
        s->granted_listed = 0;
        session_emit_grants(s);
    }
}

static void on_prepare(uv_prepare_t *h)
{
    daemon_t *d = h->data;
    /*
     * A flush can drop a session, which frees cores: go round until nothing changes, so the loop
     * never blocks with work to place. Each extra round needs a session to close, so it ends.
     */
    if (d->trace_exports > 0) ctl_trace_pump(d);
    if (d->limits.resume_due && !d->stopping) session_hold_resume_all(d);
    for (;;) {
        if (d->dirty && !d->stopping) dispatch_pass(d);
        for (session_t *s = d->sessions; s; s = s->next)
            if (s->out.len > 0) session_flush(s);
        if (!d->dirty || d->stopping) break;
    }
    trim_heap(d);
}

static void on_idle_timeout(uv_timer_t *h)
{
    daemon_t *d = h->data;
    if (d->nsessions_open > 0) return;
    LOG(LOG_INFO, "daemon", 0, "no session for %u s", d->cfg.idle_exit_s);
    daemon_stop(d, "idle");
}

void daemon_session_opened(daemon_t *d)
{
    d->nsessions_open++;
    if (d->cfg.idle_exit_s > 0) uv_timer_stop(&d->idle_timer);
}

void daemon_session_closed(daemon_t *d, int was_client)
{
    if (d->nsessions_open > 0) d->nsessions_open--;
    if (was_client && d->nclients > 0) {
        d->nclients--;
        service_client_closed(d);
    }
    if (d->nsessions_open == 0 && d->cfg.idle_exit_s > 0 && !d->stopping)
        uv_timer_start(&d->idle_timer, on_idle_timeout, (uint64_t)d->cfg.idle_exit_s * 1000u, 0);
}

void daemon_idle_rearm(daemon_t *d)
{
    uv_timer_stop(&d->idle_timer);
    if (d->nsessions_open == 0 && d->cfg.idle_exit_s > 0 && !d->stopping)
        uv_timer_start(&d->idle_timer, on_idle_timeout, (uint64_t)d->cfg.idle_exit_s * 1000u, 0);
}

void daemon_sched_config(const nodus_config_t *c, sched_config_t *out)
{
    *out = (sched_config_t){
        .default_weight = c->default_weight,
        .max_weight = c->max_weight,
        .reserve_after_ns = (uint64_t)c->reserve_after_ms * 1000000u,
        .lookahead = c->lookahead,
        .lookahead_max_ns = (uint64_t)c->lookahead_max_us * 1000u,
    };
}

static void on_cuda_complete(void *ctx, uint64_t session_id, uint64_t task_id)
{
    session_cuda_complete(ctx, session_id, task_id);
}

/* Adds the devices to the scheduler (same indices) and starts the CUDA tracker if needed. */
static int daemon_add_devices(daemon_t *d)
{
    const nodus_config_t *cfg = &d->cfg;
    int ncuda = 0;
    for (size_t i = 0; i < d->devices.n; i++) {
        const device_t *dev = &d->devices.list[i];
        int rc = sched_add_device(d->sched, dev->kind, d->devices.slots, cfg->devices_max_in_flight,
                                  cfg->devices_max_per_session, dev->core_index, dev->ncores);
        if (rc < 0) return rc;
        if ((size_t)rc != i) return NODUS_EINVAL; /* indices must agree */
        ncuda += dev->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA;
    }
    if (ncuda > 0) {
        d->cuda_tracker = cuda_tracker_start(d->loop, &d->devices.cuda, on_cuda_complete, d);
        if (!d->cuda_tracker) return NODUS_ENOMEM;
    }
    return 0;
}

int daemon_init(daemon_t *d, uv_loop_t *loop, const nodus_config_t *cfg, uint32_t *cpus,
                size_t ncores, devices_t *devices)
{
    memset(d, 0, sizeof *d);
    d->loop = loop;
    d->cfg = *cfg;
    d->cpus = cpus;
    d->ncores = ncores;
    if (devices) {
        d->devices = *devices;
        memset(devices, 0, sizeof *devices);
    }
    d->next_session_id = 1;
    d->start_ns = d->now_ns = uv_hrtime();
    limits_init(&d->limits, cfg->max_sessions_per_user, cfg->max_outstanding_tasks);

    sched_config_t sc;
    daemon_sched_config(cfg, &sc);
    d->sched = sched_create(cpus, ncores, &sc);
    if (!d->sched) return NODUS_EINVAL;
    int rc = daemon_add_devices(d);
    if (rc < 0) return rc;
    if (array_reserve((void **)&d->scratch.grants, &d->scratch.grants_cap, DAEMON_GRANT_BATCH,
                      sizeof *d->scratch.grants) < 0)
        return NODUS_ENOMEM;

    uv_prepare_init(loop, &d->prepare);
    d->prepare.data = d;
    uv_prepare_start(&d->prepare, on_prepare);
    uv_unref((uv_handle_t *)&d->prepare);

    service_init(d);
    uv_idle_init(loop, &d->trace_idle);
    d->trace_idle.data = d;
    if (admin_group_resolve(cfg->admin_group, geteuid(), &d->admin) < 0)
        LOG(LOG_INFO, "daemon", 0,
            "admin_group \"%s\" is not a group: only root and this daemon's user are admins",
            cfg->admin_group);
    if (cfg->trace_enabled) ctl_trace_set_enabled(d, 1);

    uv_timer_init(loop, &d->idle_timer);
    d->idle_timer.data = d;
    if (cfg->idle_exit_s > 0)
        uv_timer_start(&d->idle_timer, on_idle_timeout, (uint64_t)cfg->idle_exit_s * 1000u, 0);
    return 0;
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h)) uv_close(h, NULL);
}

void daemon_stop(daemon_t *d, const char *reason)
{
    if (d->stopping) return;
    d->stopping = 1;
    d->draining = 1;
    LOG(LOG_NOTICE, "daemon", 0, "stopping (%s)", reason);
    notify_send("STOPPING=1");
    if (d->server) server_close(d->server);
    for (session_t *s = d->sessions; s; s = s->next) {
        /* a deliberate stop says so (best effort: what the socket takes now), so that libnodus
         * fails the session instead of taking the silence for a crash and reconnecting */
        if (s->state == SESSION_CLIENT) {
            char why[96];
            snprintf(why, sizeof why, "nodusd is stopping (%s)", reason);
            session_send_error(s, NODUS_ECLOSED, why);
            session_flush(s);
        }
        session_abort(s, "daemon stopping");
    }
    close_if_open((uv_handle_t *)&d->prepare);
    close_if_open((uv_handle_t *)&d->idle_timer);
    close_if_open((uv_handle_t *)&d->trace_idle);
    service_close(d);
    notify_close(d);
    session_lost_stop(d);
    /* after the sessions: they have made the tracker forget their events */
    if (d->cuda_tracker) cuda_tracker_stop(d->cuda_tracker);
    d->cuda_tracker = NULL;
}

void daemon_free(daemon_t *d)
{
    if (d->trace) {
        trace_close(d->trace);
        d->trace = NULL;
    }
    trace_ring_free(d->trace_ring);
    d->trace_ring = NULL;
    free(d->trace_buf);
    d->trace_buf = NULL;
    if (d->cuda_tracker) cuda_tracker_stop(d->cuda_tracker); /* init failed before the loop ran */
    d->cuda_tracker = NULL;
    if (d->sched) sched_destroy(d->sched);
    d->sched = NULL;
    devices_free(&d->devices);
    limits_free(&d->limits);
    free(d->cpus);
    free(d->scratch.grants);
    free(d->scratch.accesses);
    free(d->scratch.pb_grants);
    free(d->scratch.pb_grant_ptrs);
    free(d->scratch.pb_cpus);
    memset(&d->scratch, 0, sizeof d->scratch);
    d->cpus = NULL;
}
