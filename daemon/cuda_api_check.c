/*
 * Build-time check (compiled only when CMake finds the CUDA toolkit; never linked): the local
 * declarations of cuda_api.h agree with the toolkit's <cuda.h>, so nodusd, which builds without
 * it, calls the driver correctly through the pointers devices_cuda.c loads.
 */
#if defined(__has_include) && __has_include(<cuda.h>)
#include <cuda.h>

#include "cuda_api.h"

#define SAME_TYPE(a, b)   __builtin_types_compatible_p(a, b)
#define SAME_FN(fn, type) _Static_assert(SAME_TYPE(__typeof__(&fn), type), #fn)

_Static_assert(sizeof(CUresult) == sizeof(cu_result_t), "CUresult is int-sized");
_Static_assert(CUDA_SUCCESS == CU_SUCCESS, "CUDA_SUCCESS");
_Static_assert(CUDA_ERROR_NOT_READY == CU_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY");
_Static_assert(SAME_TYPE(CUdevice, cu_device_t), "CUdevice");
_Static_assert(sizeof(CUcontext) == sizeof(cu_context_t), "CUcontext is a pointer");
_Static_assert(sizeof(CUevent) == sizeof(cu_event_t), "CUevent is a pointer");
_Static_assert(sizeof(CUuuid) == sizeof(cu_uuid_t), "CUuuid");
_Static_assert(sizeof(CUipcEventHandle) == sizeof(cu_ipc_event_handle_t), "CUipcEventHandle");
_Static_assert(CU_IPC_HANDLE_SIZE == 64, "IPC handle is 64 bytes on the wire");

/* the symbols devices_cuda.c looks up, with the signatures it calls them with */
SAME_FN(cuInit, CUresult (*)(unsigned int));
SAME_FN(cuDriverGetVersion, CUresult (*)(int *));
SAME_FN(cuDeviceGetCount, CUresult (*)(int *));
SAME_FN(cuDeviceGet, CUresult (*)(CUdevice *, int));
SAME_FN(cuDeviceGetName, CUresult (*)(char *, int, CUdevice));
SAME_FN(cuDeviceTotalMem_v2, CUresult (*)(size_t *, CUdevice));
SAME_FN(cuDeviceGetUuid_v2, CUresult (*)(CUuuid *, CUdevice));
SAME_FN(cuDevicePrimaryCtxRetain, CUresult (*)(CUcontext *, CUdevice));
SAME_FN(cuDevicePrimaryCtxRelease_v2, CUresult (*)(CUdevice));
SAME_FN(cuCtxSetCurrent, CUresult (*)(CUcontext));
SAME_FN(cuIpcOpenEventHandle, CUresult (*)(CUevent *, CUipcEventHandle));
SAME_FN(cuEventQuery, CUresult (*)(CUevent));
SAME_FN(cuEventDestroy_v2, CUresult (*)(CUevent));
SAME_FN(cuGetErrorString, CUresult (*)(CUresult, const char **));
#else
typedef int nodus_cuda_api_check_skipped; /* no <cuda.h>: nothing to check */
#endif
