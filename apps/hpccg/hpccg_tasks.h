/*
 * hpccg_tasks.h: the task-based CG solver: vectors and matrix rows split in blocks, every kernel
 * on a block a nodus task with precise accesses, reductions as small tasks.
 */
#ifndef HPCCG_TASKS_H
#define HPCCG_TASKS_H

#include <nodus.h>

#include "hpccg.h"

/* Which implementations the kernel tasks offer (bit per nodus_device_kind_t). */
#define HPCCG_IMPL_CPU    (1u << NODUS_DEV_CPU)
#define HPCCG_IMPL_CUDA   (1u << NODUS_DEV_CUDA)
#define HPCCG_IMPL_OPENCL (1u << NODUS_DEV_OPENCL)

/* Runs CG from x = 0 on `pb` with opts->ntasks blocks; kernels offer the implementations in
 * `impls` (device back ends already set up by the caller). Fills `res` (res->history is
 * allocated here; caller frees). Returns 0 or a negative nodus error / -1. */
int hpccg_tasks_solve(nodus_t *n, const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                      unsigned impls, hpccg_result_t *res);

#endif
