/*
 * hpccg_kernels.c: CSR SpMV, WAXPBY and the dot product in plain C. The loops are simple enough
 * for the compiler to vectorise (restrict-free aliasing is allowed in waxpby, as the reference's
 * in-place updates need it); the dot product sums in index order so that a block's partial sum
 * is reproducible.
 */
#include "hpccg_kernels.h"

void hpccg_kernel_spmv(const hpccg_problem_t *pb, const double *p_ext, double *y, size_t start,
                       size_t n)
{
    const int *row_ptr = pb->row_ptr, *cols = pb->cols;
    const double *vals = pb->vals;
    for (size_t r = start; r < start + n; r++) {
        double sum = 0.0;
        for (int j = row_ptr[r]; j < row_ptr[r + 1]; j++)
            sum += vals[j] * p_ext[cols[j]];
        y[r] = sum;
    }
}

void hpccg_kernel_waxpby(size_t n, double a, const double *x, double b, const double *y, double *w)
{
    if (a == 1.0) {
        for (size_t i = 0; i < n; i++)
            w[i] = x[i] + b * y[i];
    } else if (b == 1.0) {
        for (size_t i = 0; i < n; i++)
            w[i] = a * x[i] + y[i];
    } else {
        for (size_t i = 0; i < n; i++)
            w[i] = a * x[i] + b * y[i];
    }
}

double hpccg_kernel_dot(size_t n, const double *x, const double *y)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += x[i] * y[i];
    return sum;
}
