/*
 * hpccg_cuda.h: the CUDA implementations of the kernel tasks (hpccg_cuda.cu): own kernels, or
 * cuSPARSE for SpMV, on managed memory.
 */
#ifndef HPCCG_CUDA_H
#define HPCCG_CUDA_H

#include <nodus.h>

#include "hpccg_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if this process sees a CUDA device that allows concurrent CPU access to managed memory. */
int hpccg_cuda_usable(void);

/* Managed memory, zeroed (NULL on failure), and its release. */
void *hpccg_cuda_alloc(size_t bytes);
void hpccg_cuda_free(void *p);

/* Prepares SpMV with cuSPARSE (when `cusparse`) for the `nb` row blocks; p_ext and y are the
 * fixed vectors SpMV reads and writes. Returns 0 or -1. */
int hpccg_cuda_setup(const hpccg_problem_t *pb, int nb, const size_t *bstart, const size_t *blen,
                     const double *p_ext, double *y, int cusparse);

/* The CUDA body of every kernel task (arg: hpccg_ktask_t). */
void hpccg_cuda_body(void *arg);

/* Releases what setup created; -1 if a body failed to launch. */
int hpccg_cuda_teardown(void);

#ifdef __cplusplus
}
#endif

#endif
