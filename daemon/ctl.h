/*
 * Control and status: builds the StatusReply that nodusctl shows (cores, sessions, counters).
 * Loop thread only.
 */
#ifndef NODUS_CTL_H
#define NODUS_CTL_H

#include "daemon.h"

struct session;

/* Appends a StatusReply describing the daemon now to session `to`'s output. */
void ctl_send_status(daemon_t *d, struct session *to);

#endif
