/*
 * hpccg_forkjoin.h: the monolithic baseline: the reference CG loop with each kernel an OpenMP
 * parallel loop, run as one parallel nodus task holding every daemon core.
 */
#ifndef HPCCG_FORKJOIN_H
#define HPCCG_FORKJOIN_H

#include <nodus.h>

#include "hpccg.h"

/* Same contract as hpccg_tasks_solve (CPU kernels only). Returns 0, -1 or a nodus error. */
int hpccg_forkjoin_solve(nodus_t *n, const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                         hpccg_result_t *res);

#endif
