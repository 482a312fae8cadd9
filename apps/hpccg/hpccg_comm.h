/*
 * hpccg_comm.h: the MPI operations HPCCG needs, behind functions that are trivial without MPI
 * (built with NODUS_HPCCG_MPI when CMake finds MPI).
 */
#ifndef HPCCG_COMM_H
#define HPCCG_COMM_H

#include "hpccg.h"

/* MPI_Init_thread with MPI_THREAD_MULTIPLE (task bodies call MPI from worker threads); sets rank
 * and size (0 and 1 without MPI). Returns 0 or -1. */
int hpccg_comm_init(int *argc, char ***argv, int *rank, int *size);
void hpccg_comm_finalize(void);

/* Sum of `v` over all ranks (v itself without MPI). */
double hpccg_comm_sum(double v);
/* Maximum of `v` over all ranks. */
double hpccg_comm_max(double v);

/* Exchanges the boundary planes of the extended vector p_ext with the ranks below and above:
 * sends the first and last owned planes, receives the two halo planes. */
void hpccg_comm_halo(const hpccg_problem_t *pb, double *p_ext);

#endif
