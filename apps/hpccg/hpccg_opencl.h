/*
 * hpccg_opencl.h: the OpenCL implementations of the kernel tasks (hpccg_opencl.c).
 */
#ifndef HPCCG_OPENCL_H
#define HPCCG_OPENCL_H

#include <nodus.h>

#include "hpccg_device.h"

/* Builds the kernels for every OpenCL device the daemon owns and wraps `regions` in buffers
 * (CL_MEM_USE_HOST_PTR). Returns 0, NODUS_ENOTSUP (no usable device with host-unified memory)
 * or -1. */
int hpccg_opencl_setup(nodus_t *n, const hpccg_region_t *regions, int nregions);

/* The OpenCL body of every kernel task (arg: hpccg_ktask_t). */
void hpccg_opencl_body(void *arg);

/* Releases what setup created (after the last task); -1 if a body failed to enqueue. */
int hpccg_opencl_teardown(void);

#endif
