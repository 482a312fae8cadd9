/*
 * The CUDA backend of libnodus: the CUDA runtime found at run time (the application's own, else
 * libcudart loaded with dlopen), daemon devices matched to local ordinals by UUID, `slots`
 * non-blocking streams per device and a session-wide pool of interprocess events whose handles
 * the daemon polls for completion (task-aware CUDA, docs/devices.md). Nothing here links
 * against CUDA; without a runtime every entry point reports NODUS_ENOTSUP.
 */
#ifndef NODUS_CLIENT_CUDA_DEV_H
#define NODUS_CLIENT_CUDA_DEV_H

#include "nodus.h"

struct grant_item;

/* Prepares the session's (empty, lazily filled) CUDA state. Returns 0 or NODUS_ENOMEM. */
int cuda_session_open(nodus_t *n);
/* Destroys the session's streams and events (after every task completed or was abandoned). */
void cuda_session_close(nodus_t *n);
/* Runs the body of a CUDA grant, records its completion event and reports the Done
 * (device_run). Worker threads. */
void cuda_run(nodus_t *n, const struct grant_item *item);

#endif
