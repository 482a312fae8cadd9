/*
 * Waiting: nodus_taskwait(), nodus_taskwait_on() and nodus_flush(). A wait is a Wait message
 * with a fresh token, sent by the comm thread after every Submit that preceded it; the caller
 * sleeps until the daemon's WaitDone for that token, or until the session breaks.
 */
#ifndef NODUS_CLIENT_WAIT_H
#define NODUS_CLIENT_WAIT_H

#include <stdint.h>

#include "internal.h"

/* Waits for the tasks submitted so far that access [addr, addr+len); len 0: for all of them. */
int wait_tasks(nodus_t *n, uint64_t addr, uint64_t len);

#endif
