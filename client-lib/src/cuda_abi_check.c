/*
 * Build-time check (compiled only when CMake finds the CUDA toolkit; never linked): the local
 * declarations of cuda_abi.h agree with the toolkit's cuda_runtime_api.h and cuda.h, so the
 * CUDA backend, which builds without them, calls the runtime and the driver correctly.
 */
#include <cuda.h>
#include <cuda_runtime_api.h>

#include "cuda_abi.h"

#define SAME_TYPE(a, b) __builtin_types_compatible_p(a, b)

_Static_assert(sizeof(cudaError_t) == sizeof(cudart_error_t), "cudaError_t is int-sized");
_Static_assert(cudaSuccess == CUDART_SUCCESS, "cudaSuccess");
_Static_assert(cudaErrorNotReady == CUDART_ERROR_NOT_READY, "cudaErrorNotReady");
_Static_assert(SAME_TYPE(cudaStream_t, cudart_stream_t), "cudaStream_t");
_Static_assert(SAME_TYPE(cudaEvent_t, cudart_event_t), "cudaEvent_t");
_Static_assert(sizeof(cudaIpcEventHandle_t) == sizeof(cudart_ipc_event_handle_t), "IPC handle");
_Static_assert(sizeof(cudaIpcEventHandle_t) == 64, "IPC handle is 64 bytes on the wire");
_Static_assert(cudaStreamNonBlocking == CUDART_STREAM_NON_BLOCKING, "cudaStreamNonBlocking");
_Static_assert(cudaEventDisableTiming == CUDART_EVENT_DISABLE_TIMING, "cudaEventDisableTiming");
_Static_assert(cudaEventInterprocess == CUDART_EVENT_INTERPROCESS, "cudaEventInterprocess");
_Static_assert(sizeof(CUresult) == sizeof(cu_result_t) && CUDA_SUCCESS == CU_SUCCESS, "CUresult");
_Static_assert(SAME_TYPE(CUdevice, cu_device_t), "CUdevice");
_Static_assert(sizeof(CUuuid) == sizeof(cu_uuid_t), "CUuuid");

/* the signatures, up to the int-sized error enums */
_Static_assert(SAME_TYPE(__typeof__(&cudaGetDeviceCount), cudaError_t (*)(int *)), "count");
_Static_assert(SAME_TYPE(__typeof__(&cudaSetDevice), cudaError_t (*)(int)), "set");
_Static_assert(SAME_TYPE(__typeof__(&cudaDeviceGetPCIBusId), cudaError_t (*)(char *, int, int)),
               "bus id");
_Static_assert(SAME_TYPE(__typeof__(&cudaStreamCreateWithFlags),
                         cudaError_t (*)(cudaStream_t *, unsigned int)),
               "stream create");
_Static_assert(SAME_TYPE(__typeof__(&cudaStreamDestroy), cudaError_t (*)(cudaStream_t)),
               "stream destroy");
_Static_assert(SAME_TYPE(__typeof__(&cudaEventCreateWithFlags),
                         cudaError_t (*)(cudaEvent_t *, unsigned int)),
               "event create");
_Static_assert(SAME_TYPE(__typeof__(&cudaEventRecord), cudaError_t (*)(cudaEvent_t, cudaStream_t)),
               "event record");
_Static_assert(SAME_TYPE(__typeof__(&cudaEventQuery), cudaError_t (*)(cudaEvent_t)), "query");
_Static_assert(SAME_TYPE(__typeof__(&cudaEventDestroy), cudaError_t (*)(cudaEvent_t)), "destroy");
_Static_assert(SAME_TYPE(__typeof__(&cudaIpcGetEventHandle),
                         cudaError_t (*)(cudaIpcEventHandle_t *, cudaEvent_t)),
               "ipc handle");
_Static_assert(SAME_TYPE(__typeof__(&cuInit), CUresult (*)(unsigned int)), "cuInit");
_Static_assert(SAME_TYPE(__typeof__(&cuDeviceGetByPCIBusId),
                         CUresult (*)(CUdevice *, const char *)),
               "cuDeviceGetByPCIBusId");
_Static_assert(SAME_TYPE(__typeof__(&cuDeviceGetUuid_v2), CUresult (*)(CUuuid *, CUdevice)),
               "cuDeviceGetUuid_v2");
