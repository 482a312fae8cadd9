/*
 * The daemon as a service: signals, the draining stop and configuration reloads.
 *
 *   SIGTERM, SIGINT  drain: new client sessions are refused (NODUS_EDRAINING; nodusctl may still
 *                    connect), the open ones keep being scheduled until they end; the daemon
 *                    exits 0 when the last one has, or when daemon.drain_timeout_s expires (the
 *                    rest are then closed with Error{NODUS_EDRAINING}). A second signal stops
 *                    at once. nodusctl drain starts the same drain.
 *   SIGHUP           reload: the configuration is loaded again (file, NODUS_CONFIG_OVERRIDE,
 *                    flags); a bad one is logged and the one in force kept. Live keys are
 *                    applied (log level, scheduler knobs, limits, drain timeout, idle exit,
 *                    admin group, trace); socket, cores and devices.* are logged as changed,
 *                    taking effect after a restart.
 * Loop thread only.
 */
#ifndef NODUS_SERVICE_H
#define NODUS_SERVICE_H

#include "daemon.h"

/* Installs the signal handlers and the drain timer (from daemon_init). */
void service_init(daemon_t *d);
/* Closes them (from daemon_stop). */
void service_close(daemon_t *d);
/* Starts a draining stop; `why` is logged. Does nothing if one is under way or stopping. */
void service_drain(daemon_t *d, const char *why);
/* Reloads the configuration (SIGHUP). */
void service_reload(daemon_t *d);
/* A CLIENT session closed: the drain ends with the last one. */
void service_client_closed(daemon_t *d);

#endif
