/*
 * Signals, drain and reload (see service.h).
 */
#include "service.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "nodus.h"
#include "notify.h"
#include "session.h"

static void on_drained(uv_timer_t *h)
{
    daemon_stop(h->data, "drained: no client session left");
}

/* The drain timeout expired: the sessions still open are closed, then the daemon stops. */
static void on_drain_timeout(uv_timer_t *h)
{
    daemon_t *d = h->data;
    LOG(LOG_NOTICE, "daemon", 0, "drain timeout (%u s) expired: closing %zu client sessions",
        d->cfg.drain_timeout_s, d->nclients);
    for (session_t *s = d->sessions; s; s = s->next) {
        if (s->state != SESSION_CLIENT) continue;
        LOG(LOG_NOTICE, "session", s->id,
            "closed by the drain timeout (uid=%u pid=%u job=%s, %" PRIu64 " of %" PRIu64
            " tasks done)",
            s->uid, s->pid, s->job, s->done, s->submitted);
        session_send_error(s, NODUS_EDRAINING, "drain timeout expired: nodusd is stopping");
        session_close(s, "drain timeout", 1);
    }
    daemon_stop(d, "drain timeout");
}

void service_drain(daemon_t *d, const char *why)
{
    if (d->stopping || d->draining) return;
    d->draining = 1;
    notify_send("STOPPING=1");
    LOG(LOG_NOTICE, "daemon", 0,
        "draining (%s): refusing new client sessions; %zu open, drain timeout %u s", why,
        d->nclients, d->cfg.drain_timeout_s);
    notify_status(d, 0);
    /* deferred to the loop: callers may be inside a session's message handler */
    if (d->nclients == 0)
        uv_timer_start(&d->drain_timer, on_drained, 0, 0);
    else
        uv_timer_start(&d->drain_timer, on_drain_timeout, (uint64_t)d->cfg.drain_timeout_s * 1000u,
                       0);
}

void service_client_closed(daemon_t *d)
{
    /* the timer runs while the drain waits; inside its timeout callback it does not */
    if (d->draining && !d->stopping && d->nclients == 0 &&
        uv_is_active((uv_handle_t *)&d->drain_timer)) {
        LOG(LOG_NOTICE, "daemon", 0, "drain complete: the last client session has ended");
        uv_timer_start(&d->drain_timer, on_drained, 0, 0);
    }
}

void service_reload(daemon_t *d)
{
    char msg[64], err[512] = "";
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, uv_hrtime() / 1000u);
    notify_send(msg);
    nodus_config_t next;
    if (!d->load_config || d->load_config(d->load_ctx, &next, err, sizeof err) < 0) {
        LOG(LOG_ERR, "daemon", 0, "reload failed, keeping the configuration in force: %s",
            err[0] ? err : "no configuration loader");
        notify_send("READY=1");
        return;
    }
    /* no socket in the file or flags: the one resolved at start-up stays */
    if (!next.socket_path[0]) memcpy(next.socket_path, d->cfg.socket_path, sizeof next.socket_path);
    char applied[512], restart[512];
    nodus_config_t old = d->cfg;
    int nrestart =
        config_apply_live(&d->cfg, &next, applied, sizeof applied, restart, sizeof restart);

    log_set_level(d->cfg.log_level);
    sched_config_t sc;
    daemon_sched_config(&d->cfg, &sc);
    sched_set_config(d->sched, &sc, uv_hrtime());
    daemon_mark_dirty(d); /* new weights or lookahead may place tasks at once */
    if (admin_group_resolve(d->cfg.admin_group, geteuid(), &d->admin) < 0)
        LOG(LOG_INFO, "daemon", 0,
            "admin_group \"%s\" is not a group: only root and this daemon's user are admins",
            d->cfg.admin_group);
    if (old.idle_exit_s != d->cfg.idle_exit_s) daemon_idle_rearm(d);
    limits_configure(&d->limits, d->cfg.max_sessions_per_user, d->cfg.max_outstanding_tasks);
    if (d->limits.resume_due) daemon_mark_dirty(d);
    if (old.trace_enabled != d->cfg.trace_enabled) ctl_trace_set_enabled(d, d->cfg.trace_enabled);

    LOG(LOG_NOTICE, "daemon", 0, "configuration reloaded%s%s", applied[0] ? "; changed: " : "",
        applied[0] ? applied : " (no change)");
    if (nrestart > 0)
        LOG(LOG_WARNING, "daemon", 0, "%s changed, takes effect after restart", restart);
    notify_send("READY=1");
    notify_status(d, 1);
}

static void on_signal(uv_signal_t *h, int signum)
{
    daemon_t *d = h->data;
    const char *name = signum == SIGINT ? "SIGINT" : signum == SIGTERM ? "SIGTERM" : "SIGHUP";
    LOG(LOG_NOTICE, "daemon", 0, "received %s", name);
    if (signum == SIGHUP)
        service_reload(d);
    else if (d->draining)
        daemon_stop(d, "second signal");
    else
        service_drain(d, name);
}

void service_init(daemon_t *d)
{
    uv_signal_t *sigs[] = {&d->sig_int, &d->sig_term, &d->sig_hup};
    const int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        uv_signal_init(d->loop, sigs[i]);
        sigs[i]->data = d;
        uv_signal_start(sigs[i], on_signal, nums[i]);
        uv_unref((uv_handle_t *)sigs[i]);
    }
    uv_timer_init(d->loop, &d->drain_timer);
    d->drain_timer.data = d;
    uv_unref((uv_handle_t *)&d->drain_timer);
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h)) uv_close(h, NULL);
}

void service_close(daemon_t *d)
{
    close_if_open((uv_handle_t *)&d->sig_int);
    close_if_open((uv_handle_t *)&d->sig_term);
    close_if_open((uv_handle_t *)&d->sig_hup);
    close_if_open((uv_handle_t *)&d->drain_timer);
}
