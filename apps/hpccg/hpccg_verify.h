/*
 * hpccg_verify.h: a plain sequential CG on the whole problem, written directly on the stencil
 * (no CSR, no tasks), as an independent check of a run's residual history.
 */
#ifndef HPCCG_VERIFY_H
#define HPCCG_VERIFY_H

#include "hpccg.h"

/* Solves the nx*ny*nz problem with the reference's loop and compares `run`'s iteration count and
 * residual history with it: relative difference at most `rtol` wherever the residual is above
 * 1e-9 of the initial one (below that it is round-off). Prints a line; returns 0 if they agree,
 * -1 if not. */
int hpccg_verify(int nx, int ny, int nz, const hpccg_result_t *run, double tolerance, double rtol);

#endif
