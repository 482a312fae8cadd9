/*
 * The CUDA backend of libnodus: the CUDA runtime found at run time (the application's own, else
 * libcudart loaded with dlopen), daemon devices matched to local ordinals by UUID, `slots`
 * non-blocking streams per device and a session-wide pool of interprocess events whose handles
 * the daemon polls for completion (task-aware CUDA, docs/devices.md). Nothing here links
 * against CUDA; without a runtime every entry point reports NODUS_ENOTSUP.
 */
#ifndef NODUS_CLIENT_CUDA_DEV_H
#define NODUS_CLIENT_CUDA_DEV_H

#include <stdint.h>

#include "nodus.h"

struct grant_item;

/* Prepares the session's (empty, lazily filled) CUDA state. Returns 0 or NODUS_ENOMEM. */
int cuda_session_open(nodus_t *n);
/* Destroys the session's streams and events (after every task completed or was abandoned). */
void cuda_session_close(nodus_t *n);
/* Waits until every event the session recorded has fired (the daemon was lost: no one else will
 * tell). Returns 0, NODUS_EIO (a query failed) or NODUS_ETIMEDOUT at CLOCK_MONOTONIC `deadline_ms`.
 * Comm thread, with no body running. */
int cuda_session_quiesce(nodus_t *n, uint64_t deadline_ms);
/* Runs the body of a CUDA grant, records its completion event and reports the Done
 * (device_run). Worker threads. */
void cuda_run(nodus_t *n, const struct grant_item *item);

#endif
