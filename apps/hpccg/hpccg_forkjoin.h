/*
 * hpccg_forkjoin.h: the monolithic baseline: the reference CG loop with each kernel an OpenMP
 * parallel loop, run as one parallel nodus task holding every daemon core, or stand-alone as a
 * plain OpenMP process (no daemon).
 */
#ifndef HPCCG_FORKJOIN_H
#define HPCCG_FORKJOIN_H

#include <nodus.h>

#include "hpccg.h"

/* Same contract as hpccg_tasks_solve (CPU kernels only). Returns 0, -1 or a nodus error. */
int hpccg_forkjoin_solve(nodus_t *n, const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                         hpccg_result_t *res);

/* The same loop in the calling thread with no daemon (--standalone): hpccg_forkjoin_threads()
 * OpenMP threads. Returns 0 or -1. */
int hpccg_forkjoin_solve_standalone(const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                                    hpccg_result_t *res);

/* Threads of a stand-alone run: OMP_NUM_THREADS when set, else the CPUs in this process's
 * affinity mask (taskset, the MPI launcher's binding); 1 in a build without OpenMP. */
int hpccg_forkjoin_threads(void);

#endif
