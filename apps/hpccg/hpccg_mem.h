/*
 * hpccg_mem.h: memory for the arrays kernels touch: page-aligned host memory (OpenCL buffers use
 * it in place), or CUDA managed memory when a CUDA implementation may run, so that a CPU, OpenCL
 * or CUDA body can take any task.
 */
#ifndef HPCCG_MEM_H
#define HPCCG_MEM_H

#include <stddef.h>

/* Chooses managed memory (call before the first allocation; 0 = host memory). */
void hpccg_mem_use_managed(int managed);

/* Zeroed memory of `bytes` (NULL on failure); free with hpccg_mem_free. */
void *hpccg_mem_alloc(size_t bytes);
void hpccg_mem_free(void *p);

#endif
