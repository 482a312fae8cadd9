/*
 * hpccg_device.h: one kernel task of the task-based solver, as every implementation (CPU,
 * OpenCL, CUDA) of its body sees it, and the device back ends' entry points. Plain C, included
 * by the CUDA source too.
 */
#ifndef HPCCG_DEVICE_H
#define HPCCG_DEVICE_H

#include <stddef.h>

#include "hpccg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Entries of a block's dot-product scratch (device partial sums before the final sum). */
#define HPCCG_DOT_SCRATCH 256

enum { HPCCG_K_WAXPBY, HPCCG_K_DOT, HPCCG_K_SPMV, HPCCG_K_COUNT };

/* Arguments of one kernel task (borrowed by the body; the solver owns them until the end). */
typedef struct hpccg_ktask {
    int kind;                    /* HPCCG_K_* */
    const char *active;          /* the body does nothing when *active is 0 (CG has stopped) */
    size_t start, n;             /* rows [start, start+n) */
    const hpccg_problem_t *pb;   /* SPMV: the matrix */
    double *w;                   /* WAXPBY: w = a*x + b*y; SPMV: y (whole vector, rows start..) */
    const double *x, *y;         /* WAXPBY/DOT operands at row `start`; SPMV: x = extended p */
    double a, b;                 /* WAXPBY coefficients, unless taken from a_ptr/b_ptr */
    const double *a_ptr, *b_ptr; /* coefficients a reduction task computed (times a/b) */
    double *out;                 /* DOT: the block's partial sum */
    double *scratch;             /* DOT: HPCCG_DOT_SCRATCH doubles of device partial sums */
    double t0;                   /* device bodies: when the body started (for timing) */
} hpccg_ktask_t;

/* The WAXPBY coefficients, resolved when the body runs (after the reductions it reads). */
static inline void hpccg_ktask_coeffs(const hpccg_ktask_t *t, double *a, double *b)
{
    *a = t->a_ptr ? t->a * *t->a_ptr : t->a;
    *b = t->b_ptr ? t->b * *t->b_ptr : t->b;
}

/* Adds `seconds` of body time to the kernel class of `t` and counts one body of implementation
 * `impl` (a nodus_device_kind_t); any thread. */
void hpccg_tasks_account(const hpccg_ktask_t *t, int impl, double seconds);

/* A memory region the device kernels address (vectors, matrix, partial sums). */
typedef struct hpccg_region {
    void *ptr;
    size_t bytes;
} hpccg_region_t;

#ifdef __cplusplus
}
#endif

#endif
