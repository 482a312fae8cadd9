/*
 * The service manager protocol (sd_notify, when built with libsystemd and NOTIFY_SOCKET is set):
 * READY=1 once serving, STATUS= lines ("3 sessions, 2/4 cores busy, 1234 tasks/s"), at most
 * once per second and only when they change, watchdog pings every WATCHDOG_USEC / 2 from a timer
 * on the loop (so a stuck loop stops pinging and systemd kills it), STOPPING=1, and
 * RELOADING=1 / READY=1 around a reload. Without libsystemd every call does nothing.
 * Loop thread only.
 */
#ifndef NODUS_NOTIFY_H
#define NODUS_NOTIFY_H

#include "daemon.h"

/* Sends one notification ("READY=1", ...); a no-op outside systemd. */
void notify_send(const char *state);
/* Sends READY=1 and a first STATUS=, and starts the watchdog and status timers if wanted. */
void notify_ready(daemon_t *d);
/* Sends STATUS= now if the line changed (or always with `force`). */
void notify_status(daemon_t *d, int force);
/* Closes the timers (daemon_stop). */
void notify_close(daemon_t *d);

#endif
