/*
 * hpccg_problem.h: generation of the reference HPCCG problem for one rank (hpccg.h describes the
 * layout).
 */
#ifndef HPCCG_PROBLEM_H
#define HPCCG_PROBLEM_H

#include "hpccg.h"

/* Allocator for every array the kernels touch (host or CUDA managed memory; hpccg_mem.h). */
typedef void *(*hpccg_alloc_fn)(size_t bytes);
typedef void (*hpccg_free_fn)(void *p);

/* Builds rank `rank` of `size`'s part of the nx*ny*(nz*size) problem; arrays come from
 * `alloc`. Returns 0 or -1 (out of memory, sizes too large). */
int hpccg_problem_create(hpccg_problem_t *pb, int nx, int ny, int nz, int rank, int size,
                         hpccg_alloc_fn alloc);

/* Frees the arrays with `release` (the allocator's partner). */
void hpccg_problem_destroy(hpccg_problem_t *pb, hpccg_free_fn release);

#endif
