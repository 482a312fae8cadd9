/*
 * nodus/opencl.h: OpenCL tasks (task-aware OpenCL).
 *
 * libnodus creates one context per OpenCL device the daemon owns and a few in-order command
 * queues per device (the daemon picks the queue for each task). An OpenCL body enqueues its
 * kernels and transfers on nodus_cl_queue() and returns without waiting: libnodus then enqueues
 * a marker, flushes, and reports completion to the daemon from the marker's CL_COMPLETE
 * callback; only then are the task's successors released. Never call clFinish() in a body.
 *
 * CPU OpenCL devices (PoCL) run kernels on their own thread pool. libnodus holds that pool to
 * the cores the daemon lists for the device (it sets POCL_MAX_PTHREAD_COUNT unless the user did,
 * and initialises OpenCL with the calling thread pinned to those cores for that call), and the
 * daemon keeps those cores free of other tasks while a kernel is in flight. For this to work,
 * libnodus must make the first OpenCL call of the process: it does so inside nodus_open() when
 * the program links OpenCL (the ICD loader is already loaded then), otherwise on the first
 * nodus_cl_device_context() or OpenCL grant; so open the session before any clGetPlatformIDs()
 * of your own.
 *
 * A marker that cannot be enqueued, or device work that ends abnormally, breaks the session with
 * NODUS_EIO (NODUS_DEBUG says why); a grant for a device this process cannot match (platform
 * name and index) breaks it with NODUS_ENOTSUP.
 *
 * libnodus loads the OpenCL ICD loader at run time; an application using this header links
 * OpenCL itself (-lOpenCL) for its own calls.
 */
#ifndef NODUS_OPENCL_H
#define NODUS_OPENCL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <nodus.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The context and device id libnodus uses for the daemon's device `index` (an OpenCL device),
 * created on first use; build programs with it before submitting tasks. Returns 0, NODUS_EINVAL
 * (not an OpenCL device) or NODUS_ENOTSUP (no usable OpenCL runtime in this process).
 */
NODUS_EXPORT int nodus_cl_device_context(nodus_t *n, int index, cl_context *context,
                                         cl_device_id *device);

/* Inside an OpenCL body: the queue to enqueue on, its context and device (NULL outside). */
NODUS_EXPORT cl_command_queue nodus_cl_queue(void);
NODUS_EXPORT cl_context nodus_cl_context(void);
NODUS_EXPORT cl_device_id nodus_cl_device(void);

#ifdef __cplusplus
}
#endif

#endif
