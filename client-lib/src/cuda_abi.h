/*
 * The few CUDA runtime and driver API types, constants and signatures libnodus uses, declared
 * locally so that libnodus builds without the CUDA toolkit and loads CUDA only at run time.
 * Only stable ABI is declared: opaque handles, int-sized enums, flag values and the 64-byte IPC
 * handle; no struct whose layout CUDA versions change. cuda_abi_check.c compiles these against
 * the real headers whenever the build finds the toolkit.
 */
#ifndef NODUS_CLIENT_CUDA_ABI_H
#define NODUS_CLIENT_CUDA_ABI_H

/* runtime API (libcudart) */
typedef int cudart_error_t; /* cudaError_t: an int-sized enum */
typedef struct CUstream_st *cudart_stream_t;
typedef struct CUevent_st *cudart_event_t;
typedef struct cudart_ipc_event_handle {
    char reserved[64];
} cudart_ipc_event_handle_t; /* cudaIpcEventHandle_t */

#define CUDART_SUCCESS              0   /* cudaSuccess */
#define CUDART_ERROR_NOT_READY      600 /* cudaErrorNotReady */
#define CUDART_STREAM_NON_BLOCKING  0x01u
#define CUDART_EVENT_DISABLE_TIMING 0x02u
#define CUDART_EVENT_INTERPROCESS   0x04u
#define CUDART_PCI_BUS_ID_LEN       64 /* enough for "dddd:bb:dd.f" with room to spare */

typedef cudart_error_t (*cudart_get_device_count_fn)(int *count);
typedef cudart_error_t (*cudart_set_device_fn)(int device);
typedef cudart_error_t (*cudart_device_get_pci_bus_id_fn)(char *bus_id, int len, int device);
typedef cudart_error_t (*cudart_stream_create_with_flags_fn)(cudart_stream_t *stream,
                                                             unsigned int flags);
typedef cudart_error_t (*cudart_stream_destroy_fn)(cudart_stream_t stream);
typedef cudart_error_t (*cudart_event_create_with_flags_fn)(cudart_event_t *event,
                                                            unsigned int flags);
typedef cudart_error_t (*cudart_event_record_fn)(cudart_event_t event, cudart_stream_t stream);
typedef cudart_error_t (*cudart_event_query_fn)(cudart_event_t event);
typedef cudart_error_t (*cudart_event_destroy_fn)(cudart_event_t event);
typedef cudart_error_t (*cudart_ipc_get_event_handle_fn)(cudart_ipc_event_handle_t *handle,
                                                         cudart_event_t event);

/* driver API (libcuda), for device UUIDs only */
typedef int cu_result_t; /* CUresult */
typedef int cu_device_t; /* CUdevice */
typedef struct cu_uuid {
    char bytes[16];
} cu_uuid_t; /* CUuuid */

#define CU_SUCCESS 0

typedef cu_result_t (*cu_init_fn)(unsigned int flags);
typedef cu_result_t (*cu_device_get_by_pci_bus_id_fn)(cu_device_t *dev, const char *bus_id);
typedef cu_result_t (*cu_device_get_uuid_fn)(cu_uuid_t *uuid, cu_device_t dev);

#endif
