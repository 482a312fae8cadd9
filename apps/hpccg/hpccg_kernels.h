/*
 * hpccg_kernels.h: the three HPCCG kernels in plain C over a range of rows, shared by the task
 * bodies (one block per call) and the fork-join solver (one thread's rows per call).
 */
#ifndef HPCCG_KERNELS_H
#define HPCCG_KERNELS_H

#include "hpccg.h"

/* y[r] = sum_j A[r][j] * p_ext[cols[j]] for rows r in [start, start+n). */
void hpccg_kernel_spmv(const hpccg_problem_t *pb, const double *p_ext, double *y, size_t start,
                       size_t n);

/* w[i] = a*x[i] + b*y[i] for i in [0, n) (w may alias x or y). */
void hpccg_kernel_waxpby(size_t n, double a, const double *x, double b, const double *y, double *w);

/* Sum of x[i]*y[i], i in [0, n), in index order. */
double hpccg_kernel_dot(size_t n, const double *x, const double *y);

#endif
