/*
 * sd_notify glue (see notify.h). The timers are unreferenced: they never keep the loop alive on
 * their own, so idle exit and stopping work as before.
 */
#include "notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NODUS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

#define NOTIFY_STATUS_PERIOD_MS 1000u

void notify_send(const char *state)
{
#ifdef NODUS_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

void notify_status(daemon_t *d, int force)
{
    if (!d->notify_status) return;
    uint64_t now = uv_hrtime();
    uint64_t done = d->counters.tasks_done;
    uint64_t rate = 0;
    if (d->status_ns && now > d->status_ns)
        rate = (done - d->status_done) * 1000000000u / (now - d->status_ns);
    d->status_done = done;
    d->status_ns = now;
    char line[sizeof d->status_line];
    snprintf(line, sizeof line, "STATUS=%zu session%s, %zu/%zu cores busy, %" PRIu64 " tasks/s%s",
             d->nclients, d->nclients == 1 ? "" : "s", d->ncores - sched_free_cores(d->sched),
             d->ncores, rate, d->draining ? ", draining" : "");
    if (!force && strcmp(line, d->status_line) == 0) return;
    snprintf(d->status_line, sizeof d->status_line, "%s", line);
    notify_send(line);
}

static void on_status_tick(uv_timer_t *h)
{
    notify_status(h->data, 0);
}

static void on_watchdog(uv_timer_t *h)
{
    (void)h;
    notify_send("WATCHDOG=1");
}

void notify_ready(daemon_t *d)
{
    notify_send("READY=1");
    const char *sock = getenv("NOTIFY_SOCKET");
#ifdef NODUS_HAVE_SYSTEMD
    d->notify_status = sock && sock[0];
#else
    (void)sock;
#endif
    uv_timer_init(d->loop, &d->status_timer);
    uv_timer_init(d->loop, &d->watchdog_timer);
    d->status_timer.data = d->watchdog_timer.data = d;
    uv_unref((uv_handle_t *)&d->status_timer);
    uv_unref((uv_handle_t *)&d->watchdog_timer);
    if (d->notify_status) {
        notify_status(d, 1);
        uv_timer_start(&d->status_timer, on_status_tick, NOTIFY_STATUS_PERIOD_MS,
                       NOTIFY_STATUS_PERIOD_MS);
    }
#ifdef NODUS_HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        uint64_t ms = usec / 2000u;
        if (ms == 0) ms = 1;
        LOG(LOG_INFO, "daemon", 0, "watchdog: a ping every %" PRIu64 " ms", ms);
        notify_send("WATCHDOG=1");
        uv_timer_start(&d->watchdog_timer, on_watchdog, ms, ms);
    }
#endif
}

void notify_close(daemon_t *d)
{
    if (d->status_timer.loop && !uv_is_closing((uv_handle_t *)&d->status_timer))
        uv_close((uv_handle_t *)&d->status_timer, NULL);
    if (d->watchdog_timer.loop && !uv_is_closing((uv_handle_t *)&d->watchdog_timer))
        uv_close((uv_handle_t *)&d->watchdog_timer, NULL);
}
