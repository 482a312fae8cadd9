/*
 * The few CUDA driver API types, constants and entry points nodusd uses, declared here so that the
 * daemon builds without the CUDA toolkit and loads libcuda.so.1 at run time (dlopen; never
 * linked). The values are the driver's stable ABI; cuda_api_check.c, compiled when CMake finds
 * the toolkit, checks them against <cuda.h>.
 *
 * The function pointers are filled by devices_cuda.c; the loop thread (discovery, opening IPC
 * event handles, destroying them) and the CUDA tracker thread (querying events) call them. The
 * driver API is thread-safe; each thread makes the device's primary context current first.
 */
#ifndef NODUS_CUDA_API_H
#define NODUS_CUDA_API_H

#include <stddef.h>

typedef int cu_result_t;                /* CUresult */
typedef int cu_device_t;                /* CUdevice */
typedef struct cu_ctx_st *cu_context_t; /* CUcontext */
typedef struct cu_event_st *cu_event_t; /* CUevent */
typedef struct cu_uuid {                /* CUuuid */
    char bytes[16];
} cu_uuid_t;
typedef struct cu_ipc_event_handle { /* CUipcEventHandle, passed by value */
    char reserved[64];
} cu_ipc_event_handle_t;

#define CU_SUCCESS         0   /* CUDA_SUCCESS */
#define CU_ERROR_NOT_READY 600 /* CUDA_ERROR_NOT_READY */
#define CU_DEVICE_NAME_MAX 256

/* Entry points, all NULL when the driver is not loaded. */
typedef struct cuda_api {
    void *lib; /* dlopen handle of libcuda.so.1, or NULL */
    cu_result_t (*init)(unsigned flags);
    cu_result_t (*driver_version)(int *version);
    cu_result_t (*device_count)(int *count);
    cu_result_t (*device_get)(cu_device_t *dev, int ordinal);
    cu_result_t (*device_name)(char *name, int len, cu_device_t dev);
    cu_result_t (*device_total_mem)(size_t *bytes, cu_device_t dev);
    cu_result_t (*device_uuid)(cu_uuid_t *uuid, cu_device_t dev);
    cu_result_t (*primary_ctx_retain)(cu_context_t *ctx, cu_device_t dev);
    cu_result_t (*primary_ctx_release)(cu_device_t dev);
    cu_result_t (*ctx_set_current)(cu_context_t ctx);
    cu_result_t (*ipc_open_event)(cu_event_t *event, cu_ipc_event_handle_t handle);
    cu_result_t (*event_query)(cu_event_t event);
    cu_result_t (*event_destroy)(cu_event_t event);
    cu_result_t (*error_string)(cu_result_t error, const char **text); /* may stay NULL */
} cuda_api_t;

#endif
