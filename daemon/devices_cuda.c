/*
 * CUDA discovery: libcuda.so.1 through dlopen, cuInit, and each device's name, memory and UUID.
 * The driver stays loaded when it has devices: the CUDA tracker and the sessions use it later to
 * open and poll the clients' interprocess events (cuda_api.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "nodus_limits.h"

/* Looks up the first of two names (a versioned symbol, then the plain one). */
static void *sym(void *lib, const char *name, const char *fallback)
{
    void *p = dlsym(lib, name);
    if (!p && fallback) p = dlsym(lib, fallback);
    return p;
}

/* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer */
#define LOAD(field, name, fallback)                                                                \
    do {                                                                                           \
        void *p_ = sym(api->lib, name, fallback);                                                  \
        memcpy(&api->field, &p_, sizeof p_);                                                       \
        if (!p_) missing = name;                                                                   \
    } while (0)

void devices_cuda_unload(cuda_api_t *api)
{
    if (api->lib) dlclose(api->lib);
    memset(api, 0, sizeof *api);
}

static const char *cu_error(const cuda_api_t *api, cu_result_t rc)
{
    const char *text = NULL;
    if (api->error_string && api->error_string(rc, &text) == CU_SUCCESS && text) return text;
    return "CUDA driver error";
}

void devices_cuda_discover(cuda_api_t *api, device_found_t *found, size_t max, size_t *n,
                           char *note, size_t notelen)
{
    *n = 0;
    memset(api, 0, sizeof *api);
    api->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!api->lib) {
        snprintf(note, notelen, "no CUDA driver (libcuda.so.1 not found)");
        return;
    }
    const char *missing = NULL;
    LOAD(init, "cuInit", NULL);
    LOAD(driver_version, "cuDriverGetVersion", NULL);
    LOAD(device_count, "cuDeviceGetCount", NULL);
    LOAD(device_get, "cuDeviceGet", NULL);
    LOAD(device_name, "cuDeviceGetName", NULL);
    LOAD(device_total_mem, "cuDeviceTotalMem_v2", "cuDeviceTotalMem");
    LOAD(device_uuid, "cuDeviceGetUuid_v2", "cuDeviceGetUuid");
    LOAD(primary_ctx_retain, "cuDevicePrimaryCtxRetain", NULL);
    LOAD(primary_ctx_release, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
    LOAD(ctx_set_current, "cuCtxSetCurrent", NULL);
    LOAD(ipc_open_event, "cuIpcOpenEventHandle", NULL);
    LOAD(event_query, "cuEventQuery", NULL);
    LOAD(event_destroy, "cuEventDestroy_v2", "cuEventDestroy");
    void *optional = dlsym(api->lib, "cuGetErrorString");
    memcpy(&api->error_string, &optional, sizeof optional);
    if (missing) {
        snprintf(note, notelen, "CUDA driver too old or incomplete (no %s)", missing);
        devices_cuda_unload(api);
        return;
    }
    cu_result_t rc = api->init(0);
    if (rc != CU_SUCCESS) {
        snprintf(note, notelen, "cuInit failed: %s (%d)", cu_error(api, rc), rc);
        devices_cuda_unload(api);
        return;
    }
    int count = 0, version = 0;
    api->driver_version(&version);
    rc = api->device_count(&count);
    if (rc != CU_SUCCESS || count <= 0) {
        snprintf(note, notelen, "CUDA driver %d.%d: no devices", version / 1000,
                 version % 1000 / 10);
        devices_cuda_unload(api);
        return;
    }
    for (int i = 0; i < count && *n < max; i++) {
        cu_device_t dev;
        if (api->device_get(&dev, i) != CU_SUCCESS) continue;
        device_found_t *f = &found[*n];
        memset(f, 0, sizeof *f);
        f->kind = NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA;
        f->cuda_ordinal = dev;
        char name[CU_DEVICE_NAME_MAX] = "";
        if (api->device_name(name, sizeof name, dev) != CU_SUCCESS)
            snprintf(name, sizeof name, "CUDA device %d", i);
        snprintf(f->name, sizeof f->name, "%.*s", (int)sizeof f->name - 1, name);
        snprintf(f->vendor, sizeof f->vendor, "NVIDIA Corporation");
        size_t bytes = 0;
        if (api->device_total_mem(&bytes, dev) == CU_SUCCESS) f->memory = bytes;
        cu_uuid_t uuid;
        if (api->device_uuid(&uuid, dev) == CU_SUCCESS) memcpy(f->uuid, uuid.bytes, 16);
        (*n)++;
    }
    snprintf(note, notelen, "CUDA driver %d.%d: %zu device%s", version / 1000, version % 1000 / 10,
             *n, *n == 1 ? "" : "s");
    if (*n == 0) devices_cuda_unload(api);
}
