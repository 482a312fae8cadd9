/*
 * Devices the daemon owns, as this session sees them (from Welcome.devices), and the running of
 * device task bodies: the thread-local device context a body reads (nodus_task_device_kind(),
 * nodus_cl_queue(), nodus_cuda_stream(), ...) and the dispatch to the OpenCL (ocl.c) and CUDA
 * (cuda_dev.c) backends, which enqueue the completion marker or event after the body returns.
 */
#ifndef NODUS_CLIENT_DEVICE_H
#define NODUS_CLIENT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus.h"
#include "nodus.pb-c.h"

#define DEVICE_KINDS     3u  /* CPU, CUDA, OPENCL: the entries of a task's fn table */
#define DEVICE_UUID_SIZE 16u /* a CUDA device UUID */

struct grant_item;

/* One device of the daemon, by daemon index (Welcome order). */
typedef struct device {
    nodus_device_kind_t kind; /* NODUS_DEV_CUDA or NODUS_DEV_OPENCL */
    char *name;               /* owned */
    char *platform;           /* OpenCL platform name; owned ("" for CUDA) */
    uint32_t platform_device; /* OpenCL: index of the device within its platform */
    uint8_t uuid[DEVICE_UUID_SIZE];
    bool has_uuid;   /* CUDA: uuid holds the 16-byte device UUID */
    bool cpu_device; /* OpenCL CPU device (PoCL): kernels run on `cores` */
    uint32_t *cores; /* OS CPU ids the device's threads are held to; owned */
    size_t ncores;
    uint32_t slots; /* streams / queues the daemon may name in a grant, >= 1 */
} device_t;

/* The device side of the running body; all zero (kind CPU, index -1) outside device bodies. */
typedef struct device_context {
    nodus_device_kind_t kind;
    int index;         /* daemon device index, -1 for CPU bodies */
    void *cl_queue;    /* cl_command_queue */
    void *cl_context;  /* cl_context */
    void *cl_device;   /* cl_device_id */
    void *cuda_stream; /* cudaStream_t */
    int cuda_device;   /* CUDA ordinal in this process, -1 when none */
} device_context_t;

/* Per thread: what the running body may ask for. Written by the thread itself only. */
extern __attribute__((visibility("hidden"))) _Thread_local device_context_t device_current;

/*
 * Copies the devices of a validated Welcome into *out (caller frees with devices_free).
 * Returns 0, NODUS_ENOMEM, or NODUS_EPROTO (a CPU id out of range, a malformed UUID).
 */
int devices_from_welcome(const Nodus__V1__Welcome *w, device_t **out, size_t *count);
/* Frees what devices_from_welcome() returned. */
void devices_free(device_t *devices, size_t count);

/*
 * Sets up what the session needs for its devices before any thread of the session starts
 * (PoCL's thread count, and the OpenCL start-up when the process already loaded OpenCL).
 * Never fails the session: a backend that cannot start is reported when a task needs it.
 */
int device_session_open(nodus_t *n);
/* Waits for outstanding device callbacks and frees the backends' state. After the workers and
 * the comm thread are joined. */
void device_session_close(nodus_t *n);

/*
 * Runs the body of a device grant on the calling worker (whose task context is set): sets the
 * device context, runs item->fn's implementation for item->kind, enqueues the completion marker
 * or event, and reports Done (and, for OpenCL, DeviceDone from the marker callback). A broken
 * session skips the body but still reports. Worker threads only.
 */
void device_run(nodus_t *n, const struct grant_item *item);

/* Logs `what` on stderr when $NODUS_DEBUG is set (the session's `debug`). Any thread. */
void device_debug(const nodus_t *n, const char *backend, const char *what, int detail);

#endif
