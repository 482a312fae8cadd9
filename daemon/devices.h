/*
 * The accelerators nodusd owns (docs/devices.md): discovery at start-up, the configuration that
 * restricts it, and what the rest of the daemon needs to know about each device.
 *
 * Discovery loads the backends at run time, never linking them: the CUDA driver API
 * (libcuda.so.1, in the daemon process: the CUDA tracker uses it later) and the OpenCL ICD loader
 * (libOpenCL.so.1, in a short-lived child process, so the vendors' libraries, their threads and
 * their memory never stay in the daemon, and a crashing or hanging ICD costs only that backend).
 * A missing library or a failing initialisation is logged and that backend is skipped; it is
 * never fatal. Daemon indices: CUDA devices first (driver ordinal order), then OpenCL devices
 * (platform order, then device order within the platform); `allow` filters by these discovery
 * indices or by name substrings, and the devices kept are renumbered 0..n-1.
 *
 * A CPU OpenCL device (PoCL) is held to the last `opencl_cpu_cores` cores of the daemon's list
 * (default half of them, at least 1, at most cores - 1); with a single core it is not offered.
 *
 * Start-up and loop thread only, except the cuda_api entry points (see cuda_api.h).
 */
#ifndef NODUS_DEVICES_H
#define NODUS_DEVICES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "cuda_api.h"
#include "nodus.pb-c.h"

#define DEVICES_TEXT_MAX 128 /* names, vendors, platforms (longer ones are cut) */

typedef struct device {
    uint32_t kind; /* DeviceKind: NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA or _OPENCL */
    char name[DEVICES_TEXT_MAX];
    char vendor[DEVICES_TEXT_MAX];
    char platform[DEVICES_TEXT_MAX]; /* OpenCL */
    uint32_t platform_device;        /* OpenCL: index within clGetDeviceIDs(ALL) of the platform */
    uint64_t memory;                 /* bytes */
    uint8_t uuid[16];                /* CUDA */
    int cpu_device;                  /* OpenCL CPU device: kernels run on host cores */
    uint32_t *core_index;            /* CPU device: held cores, scheduler indices (owned) */
    uint32_t *cpus;                  /* the same as OS CPU ids (owned) */
    size_t ncores;
    int cuda_ordinal;         /* CUDA: the driver's device ordinal */
    cu_context_t cuda_ctx;    /* CUDA: primary context, retained on first use (loop thread) */
    uint32_t discovery_index; /* index before `allow` filtered (what allow names) */
} device_t;

typedef struct devices {
    device_t *list; /* owned; index = daemon device index */
    size_t n;
    uint32_t slots;                        /* streams / queues per device (config) */
    cuda_api_t cuda;                       /* loaded when a CUDA device was kept; else all NULL */
    char cuda_note[160], opencl_note[160]; /* what discovery found or why it skipped, for logs */
    char excluded[1024];                   /* lines: devices found but not kept, and why */
    Nodus__V1__DeviceInfo *info;           /* Welcome / status form, index-aligned (owned) */
    Nodus__V1__DeviceInfo **info_ptrs;
} devices_t;

/*
 * Discovers the devices `cfg` allows, for a daemon owning cores cpus[0..ncores) (scheduler index
 * = position). Never fails for a missing backend; returns 0, or NODUS_ENOMEM. *dv is zeroed
 * first. With NODUS_NO_DEVICES=1 in the environment nothing is discovered.
 */
int devices_discover(devices_t *dv, const nodus_config_t *cfg, const uint32_t *cpus, size_t ncores);
/* Releases retained CUDA contexts, unloads libcuda, frees everything. Idempotent. */
void devices_free(devices_t *dv);
/* Prints the devices and the backends' notes (nodusd --list-devices). */
void devices_print(const devices_t *dv, FILE *out);

/*
 * Makes CUDA device `index`'s primary context current on the calling thread (retained on first
 * use) and returns it in *ctx. 0, NODUS_EINVAL (not a CUDA device) or NODUS_EIO. Loop thread.
 */
int devices_cuda_context(devices_t *dv, size_t index, cu_context_t *ctx);

/* ---- pure helpers (unit-tested) ---- */

/* Does the `allow` list (config syntax; "" = everything) admit device `index` named `name`? */
int devices_allowed(const char *allow, uint32_t index, const char *name);
/* Cores a CPU OpenCL device holds for a daemon with `ncores` cores: 0 = not offered. */
size_t devices_cpu_device_cores(unsigned configured, size_t ncores);

/* ---- backends (devices_cuda.c, devices_opencl.c) ---- */

/* One device as a backend reports it, before filtering and core assignment. */
typedef struct device_found {
    uint32_t kind;
    char name[DEVICES_TEXT_MAX], vendor[DEVICES_TEXT_MAX], platform[DEVICES_TEXT_MAX];
    uint32_t platform_device;
    uint64_t memory;
    uint8_t uuid[16];
    int cpu_device;
    int cuda_ordinal;
} device_found_t;

/*
 * Loads libcuda.so.1 into *api and lists its devices into found[0..max); *n gets the count. A
 * missing library or failing cuInit leaves *api unloaded and *n 0, with the reason in note.
 */
void devices_cuda_discover(cuda_api_t *api, device_found_t *found, size_t max, size_t *n,
                           char *note, size_t notelen);
/* Unloads the driver (after contexts are released). */
void devices_cuda_unload(cuda_api_t *api);
/* Lists OpenCL devices (from a child process) into found[0..max); reasons in note. */
void devices_opencl_discover(device_found_t *found, size_t max, size_t *n, char *note,
                             size_t notelen);

#endif
