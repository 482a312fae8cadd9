/*
 * nodus/cuda.h: CUDA tasks (task-aware CUDA, as BSC's TACUDA).
 *
 * A CUDA body launches kernels, copies and vendor-library calls (cuBLAS, cuSPARSE: bind the
 * handle with cublasSetStream(h, nodus_cuda_stream())) on the stream the daemon assigned, and
 * returns without synchronising. libnodus then records an interprocess event on the stream and
 * passes its handle to nodusd, which polls it and releases the task's successors when the device
 * work has completed; the core is free as soon as the body returns. Never call
 * cudaStreamSynchronize() or cudaDeviceSynchronize() in a body.
 *
 * libnodus finds the CUDA runtime the application already loaded (or loads libcudart at run
 * time); nothing here makes libnodus depend on CUDA at link time. Link the application with the
 * shared runtime (nvcc -cudart shared; CMake CUDA_RUNTIME_LIBRARY Shared) so that both use one
 * runtime instance; with the static one libnodus loads libcudart.so itself, which still works
 * (both share each device's primary context) but keeps two copies of the runtime. Daemon devices
 * are matched to local ordinals by UUID (through the driver, libcuda.so.1). Without a usable
 * runtime or a matching device, the functions below return NODUS_ENOTSUP and a CUDA grant breaks
 * the session with it; a completion event that cannot be recorded breaks it with NODUS_EIO.
 */
#ifndef NODUS_CUDA_H
#define NODUS_CUDA_H

#include <cuda_runtime_api.h>

#include <nodus.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Inside a CUDA body: the stream to enqueue on (current device already set), or NULL outside. */
NODUS_EXPORT cudaStream_t nodus_cuda_stream(void);
/* Inside a CUDA body: the CUDA device ordinal (in this process's numbering), -1 outside. */
NODUS_EXPORT int nodus_cuda_device(void);
/* The CUDA ordinal, in this process, of the daemon's device `index`; NODUS_EINVAL if it is not a
 * CUDA device, NODUS_ENOTSUP without a usable CUDA runtime. */
NODUS_EXPORT int nodus_cuda_device_of(nodus_t *n, int index);

#ifdef __cplusplus
}
#endif

#endif
