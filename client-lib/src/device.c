/*
 * Devices (see device.h): the session's copy of Welcome.devices, the public device queries, the
 * thread-local device context, and the dispatch of device grants to the backends.
 */
#include "device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_dev.h"
#include "internal.h"
#include "ocl.h"
#include "worker.h"

#define MAX_CPU_ID 65535u /* as conn.c: bounds CPU sets built from these ids */

_Thread_local device_context_t device_current;

static char *string_dup(const char *s)
{
    size_t len = s ? strnlen(s, 255) : 0; /* device names are for display: 255 bytes is plenty */
    char *d = malloc(len + 1);
    if (!d) return NULL;
    if (len) memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

int devices_from_welcome(const Nodus__V1__Welcome *w, device_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (w->n_devices == 0) return 0;
    device_t *devs = calloc(w->n_devices, sizeof *devs);
    if (!devs) return NODUS_ENOMEM;
    int rc = 0;
    size_t i;
    for (i = 0; i < w->n_devices && rc == 0; i++) {
        const Nodus__V1__DeviceInfo *in = w->devices[i]; /* validated: index == i, slots 1..64 */
        device_t *d = &devs[i];
        d->kind = (nodus_device_kind_t)in->kind;
        d->slots = in->slots;
        d->platform_device = in->platform_device;
        d->cpu_device = in->cpu_device;
        d->name = string_dup(in->name);
        d->platform = string_dup(in->platform);
        if (!d->name || !d->platform) rc = NODUS_ENOMEM;
        if (in->uuid.len == DEVICE_UUID_SIZE) {
            memcpy(d->uuid, in->uuid.data, DEVICE_UUID_SIZE);
            d->has_uuid = true;
        } else if (in->uuid.len != 0) {
            rc = NODUS_EPROTO;
        }
        if (rc == 0 && in->n_cores) {
            d->cores = malloc(in->n_cores * sizeof *d->cores);
            if (!d->cores) rc = NODUS_ENOMEM;
            for (size_t c = 0; rc == 0 && c < in->n_cores; c++) {
                if (in->cores[c] > MAX_CPU_ID) rc = NODUS_EPROTO;
                d->cores[c] = in->cores[c];
            }
            d->ncores = in->n_cores;
        }
    }
    if (rc < 0) {
        devices_free(devs, i);
        return rc;
    }
    *out = devs;
    *count = w->n_devices;
    return 0;
}

void devices_free(device_t *devices, size_t count)
{
    for (size_t i = 0; devices && i < count; i++) {
        free(devices[i].name);
        free(devices[i].platform);
        free(devices[i].cores);
    }
    free(devices);
}

int device_session_open(nodus_t *n)
{
    int rc = ocl_session_open(n);
    if (rc == 0) rc = cuda_session_open(n);
    return rc;
}

void device_session_close(nodus_t *n)
{
    ocl_session_close(n);
    cuda_session_close(n);
}

void device_run(nodus_t *n, const grant_item_t *item)
{
    if (item->kind == NODUS_DEV_OPENCL)
        ocl_run(n, item);
    else
        cuda_run(n, item);
}

void device_debug(const nodus_t *n, const char *backend, const char *what, int detail)
{
    if (n->debug)
        fprintf(stderr, "libnodus: session %llu: %s: %s (%d)\n",
                (unsigned long long)atomic_load(&((nodus_t *)n)->session_id), backend, what,
                detail);
}

NODUS_EXPORT int nodus_num_devices(const nodus_t *n)
{
    return n ? (int)n->ndevices : NODUS_EINVAL;
}

NODUS_EXPORT int nodus_device_info(const nodus_t *n, int index, nodus_device_kind_t *kind,
                                   char *name, size_t len)
{
    if (!n || index < 0 || (size_t)index >= n->ndevices) return NODUS_EINVAL;
    const device_t *d = &n->devices[index];
    if (kind) *kind = d->kind;
    if (name && len) snprintf(name, len, "%s", d->name);
    return 0;
}

NODUS_EXPORT nodus_device_kind_t nodus_task_device_kind(void)
{
    return device_current.kind;
}

NODUS_EXPORT int nodus_task_device(void)
{
    return device_current.kind == NODUS_DEV_CPU ? -1 : device_current.index;
}
