/*
 * The OpenCL backend of libnodus: the ICD loader loaded at run time, daemon devices matched to
 * this process's (platform name, index in the platform), one context and `slots` in-order queues
 * per device, PoCL's thread pool held to the cores the daemon lists for a CPU device, and
 * task-aware completion (marker + CL_COMPLETE callback -> DeviceDone). docs/devices.md.
 */
#ifndef NODUS_CLIENT_OCL_H
#define NODUS_CLIENT_OCL_H

#include "nodus.h"

struct grant_item;

/*
 * Prepares the session's OpenCL state. When the daemon lists a CPU OpenCL device and OpenCL has
 * not started in this process: sets POCL_MAX_PTHREAD_COUNT to the device's core count (unless
 * the environment has it), and, if the process has already loaded the ICD loader (it links
 * OpenCL and will make its own calls), makes the process's first OpenCL call now, pinned to the
 * device's cores. Called by nodus_open() before any session thread starts.
 * Returns 0 or NODUS_ENOMEM; OpenCL start-up failures surface when a task needs the device.
 */
int ocl_session_open(nodus_t *n);
/* Waits for every marker callback of the session, then releases its queues and contexts. */
void ocl_session_close(nodus_t *n);
/* Runs the body of an OpenCL grant and reports it (device_run). Worker threads. */
void ocl_run(nodus_t *n, const struct grant_item *item);

#endif
