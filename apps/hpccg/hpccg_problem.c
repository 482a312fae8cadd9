/*
 * hpccg_problem.c: the reference HPCCG problem. Row (ix, iy, iz) of the global nx*ny*(nz*size)
 * grid couples to its up to 27 neighbours (the point itself included): 27 on the diagonal, -1
 * off it. The exact solution is all ones and b = A * ones, so b = 27 - (neighbours - 1); the
 * initial guess is zero (the solvers start from it).
 */
#include "hpccg_problem.h"

#include <limits.h>
#include <string.h>

int hpccg_problem_create(hpccg_problem_t *pb, int nx, int ny, int nz, int rank, int size,
                         hpccg_alloc_fn alloc)
{
    memset(pb, 0, sizeof *pb);
    if (nx <= 0 || ny <= 0 || nz <= 0 || size <= 0) return -1;
    pb->nx = nx, pb->ny = ny, pb->nz = nz, pb->rank = rank, pb->size = size;
    pb->plane = (size_t)nx * ny;
    pb->nrow = pb->plane * nz;
    pb->ext = pb->nrow + 2 * pb->plane;
    pb->total_nrow = (long long)pb->nrow * size;
    if (27.0 * (double)pb->nrow >= (double)INT_MAX || (double)pb->ext >= (double)INT_MAX) return -1;
    pb->row_ptr = alloc((pb->nrow + 1) * sizeof *pb->row_ptr);
    pb->cols = alloc(27 * pb->nrow * sizeof *pb->cols);
    pb->vals = alloc(27 * pb->nrow * sizeof *pb->vals);
    pb->b = alloc(pb->nrow * sizeof *pb->b);
    if (!pb->row_ptr || !pb->cols || !pb->vals || !pb->b) return -1;

    long long gz0 = (long long)nz * rank, gnz = (long long)nz * size;
    int nnz = 0;
    size_t row = 0;
    for (int iz = 0; iz < nz; iz++)
        for (int iy = 0; iy < ny; iy++)
            for (int ix = 0; ix < nx; ix++, row++) {
                pb->row_ptr[row] = nnz;
                int start = nnz;
                for (int sz = -1; sz <= 1; sz++) {
                    if (gz0 + iz + sz < 0 || gz0 + iz + sz >= gnz) continue;
                    for (int sy = -1; sy <= 1; sy++) {
                        if (iy + sy < 0 || iy + sy >= ny) continue;
                        for (int sx = -1; sx <= 1; sx++) {
                            if (ix + sx < 0 || ix + sx >= nx) continue;
                            /* local row + one halo plane = index in the extended vector */
                            long long col = (long long)row + (long long)pb->plane +
                                            (long long)sz * (long long)pb->plane +
                                            (long long)sy * nx + sx;
                            pb->cols[nnz] = (int)col;
                            pb->vals[nnz] = (sz == 0 && sy == 0 && sx == 0) ? 27.0 : -1.0;
                            nnz++;
                        }
                    }
                }
                pb->b[row] = 27.0 - (double)(nnz - start - 1);
            }
    pb->row_ptr[pb->nrow] = nnz;
    return 0;
}

void hpccg_problem_destroy(hpccg_problem_t *pb, hpccg_free_fn release)
{
    release(pb->row_ptr);
    release(pb->cols);
    release(pb->vals);
    release(pb->b);
    memset(pb, 0, sizeof *pb);
}
