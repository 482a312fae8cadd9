/*
 * hpccg_comm.c: MPI for the z-stacked decomposition. The exchange and the reductions run inside
 * task bodies, so they block the core their task holds while they wait (nodus has no task-aware
 * MPI yet); the solver orders every MPI-calling task of a rank in one dependency chain, so the
 * ranks meet in the same order and at most one core per rank waits at a time.
 */
#include "hpccg_comm.h"

#include <stdio.h>

#ifdef NODUS_HPCCG_MPI
#include <mpi.h>

int hpccg_comm_init(int *argc, char ***argv, int *rank, int *size)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return -1;
    if (provided < MPI_THREAD_MULTIPLE) {
        fprintf(stderr, "hpccg: the MPI library does not provide MPI_THREAD_MULTIPLE\n");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

void hpccg_comm_finalize(void)
{
    MPI_Finalize();
}

double hpccg_comm_sum(double v)
{
    double out = v;
    MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return out;
}

double hpccg_comm_max(double v)
{
    double out = v;
    MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

void hpccg_comm_halo(const hpccg_problem_t *pb, double *p_ext)
{
    int below = pb->rank > 0 ? pb->rank - 1 : MPI_PROC_NULL;
    int above = pb->rank + 1 < pb->size ? pb->rank + 1 : MPI_PROC_NULL;
    int n = (int)pb->plane;
    double *halo_below = p_ext, *first = p_ext + pb->plane;
    double *last = p_ext + pb->nrow, *halo_above = p_ext + pb->plane + pb->nrow;
    /* upwards: my last plane becomes the halo below of the rank above */
    MPI_Sendrecv(last, n, MPI_DOUBLE, above, 1, halo_below, n, MPI_DOUBLE, below, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    MPI_Sendrecv(first, n, MPI_DOUBLE, below, 2, halo_above, n, MPI_DOUBLE, above, 2,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

#else

int hpccg_comm_init(int *argc, char ***argv, int *rank, int *size)
{
    (void)argc, (void)argv;
    *rank = 0, *size = 1;
    return 0;
}

void hpccg_comm_finalize(void) {}

double hpccg_comm_sum(double v)
{
    return v;
}

double hpccg_comm_max(double v)
{
    return v;
}

void hpccg_comm_halo(const hpccg_problem_t *pb, double *p_ext)
{
    (void)pb, (void)p_ext;
}

#endif
