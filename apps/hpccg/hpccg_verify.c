/*
 * hpccg_verify.c: the sequential reference CG. The matrix-vector product walks the 27-point
 * stencil of the grid directly, so it also checks the CSR matrix hpccg_problem.c generates.
 */
#include "hpccg_verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void stencil_apply(int nx, int ny, int nz, const double *p, double *y)
{
    for (int iz = 0; iz < nz; iz++)
        for (int iy = 0; iy < ny; iy++)
            for (int ix = 0; ix < nx; ix++) {
                double sum = 0.0;
                for (int sz = -1; sz <= 1; sz++)
                    for (int sy = -1; sy <= 1; sy++)
                        for (int sx = -1; sx <= 1; sx++) {
                            int jx = ix + sx, jy = iy + sy, jz = iz + sz;
                            if (jx < 0 || jx >= nx || jy < 0 || jy >= ny || jz < 0 || jz >= nz)
                                continue;
                            double a = (sx | sy | sz) ? -1.0 : 27.0;
                            sum += a * p[((size_t)jz * ny + jy) * nx + jx];
                        }
                y[((size_t)iz * ny + iy) * nx + ix] = sum;
            }
}

static double dot(size_t n, const double *x, const double *y)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

int hpccg_verify(int nx, int ny, int nz, const hpccg_result_t *run, double tolerance, double rtol)
{
    size_t n = (size_t)nx * ny * nz;
    double *x = calloc(n, sizeof *x), *r = malloc(n * sizeof *r), *p = calloc(n, sizeof *p);
    double *Ap = malloc(n * sizeof *Ap), *ones = calloc(n, sizeof *ones);
    double *hist = calloc((size_t)run->max_iter + 1, sizeof *hist);
    if (!x || !r || !p || !Ap || !ones || !hist) {
        fprintf(stderr, "hpccg: verify: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0;
    stencil_apply(nx, ny, nz, ones, r); /* b = A * ones; r = b - A*0 = b */
    double rtrans = dot(n, r, r), normr = sqrt(rtrans), normr0 = normr;
    int niters = 0;
    for (int k = 1; k < run->max_iter && normr > tolerance; k++) {
        if (k == 1) {
            for (size_t i = 0; i < n; i++)
                p[i] = r[i];
        } else {
            double old = rtrans;
            rtrans = dot(n, r, r);
            double beta = rtrans / old;
            for (size_t i = 0; i < n; i++)
                p[i] = r[i] + beta * p[i];
        }
        normr = sqrt(rtrans);
        hist[k] = normr;
        stencil_apply(nx, ny, nz, p, Ap);
        double alpha = rtrans / dot(n, p, Ap);
        for (size_t i = 0; i < n; i++) {
            x[i] += alpha * p[i];
            r[i] -= alpha * Ap[i];
        }
        niters = k;
    }
    int bad = niters != run->niters;
    double worst = fabs(run->normr0 - normr0) / normr0;
    int compared = 1;
    for (int k = 1; k <= niters && k <= run->niters; k++) {
        if (hist[k] <= 1e-9 * normr0) continue;
        double d = fabs(run->history[k] - hist[k]) / hist[k];
        worst = d > worst ? d : worst;
        compared++;
    }
    bad |= worst > rtol;
    printf("# verify: %s: %d iterations (sequential %d), %d residuals compared, max relative "
           "difference %.3g (limit %.3g)\n",
           bad ? "MISMATCH" : "OK", run->niters, niters, compared, worst, rtol);
    free(x), free(r), free(p), free(Ap), free(ones), free(hist);
    return bad ? -1 : 0;
}
