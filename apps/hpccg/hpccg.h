/*
 * hpccg.h: types shared by the parts of nodus-hpccg, the HPCCG mini-app (unpreconditioned CG on
 * the 27-point stencil matrix of Mantevo HPCCG) on nodus.
 *
 * The problem (hpccg_problem.c) is the reference's: each MPI rank owns an nx*ny*nz block of a
 * grid stacked along z. A vector that SpMV reads (p) is stored "extended": one z-plane of halo
 * below, the rank's own rows, one plane above; column indices of the local matrix point into that
 * extended vector, so a single rank never touches its (zero) halo planes.
 */
#ifndef HPCCG_H
#define HPCCG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel classes the reference times and counts FLOPs for, plus the halo exchange. */
enum { HPCCG_T_TOTAL, HPCCG_T_DDOT, HPCCG_T_WAXPBY, HPCCG_T_SPMV, HPCCG_T_HALO, HPCCG_T_COUNT };

/* The local part of the linear system (owned by hpccg_problem_create/destroy). */
typedef struct hpccg_problem {
    int nx, ny, nz;       /* local block (the reference's command-line sizes) */
    int rank, size;       /* z-stacked decomposition: rank r owns planes [r*nz, (r+1)*nz) */
    size_t nrow;          /* local rows: nx*ny*nz */
    size_t plane;         /* nx*ny: rows per z-plane, the halo width */
    size_t ext;           /* nrow + 2*plane: length of an extended vector */
    long long total_nrow; /* rows of the global problem */
    int *row_ptr;         /* nrow+1 offsets into cols/vals */
    int *cols;            /* column indices into an extended vector */
    double *vals;         /* 27 on the diagonal, -1 elsewhere */
    double *b;            /* right-hand side: A * ones */
} hpccg_problem_t;

/* What a solver run reports (filled by the solvers, printed by hpccg_report). */
typedef struct hpccg_result {
    int niters;              /* iterations done (the reference's niters) */
    double normr0;           /* initial residual norm */
    double normr;            /* final residual norm (the reference's) */
    double *history;         /* history[k], k in [0, max_iter]: residual norm at iteration k */
    int max_iter;            /* the iteration limit */
    double t[HPCCG_T_COUNT]; /* seconds per class (Total is end-to-end wall clock) */
    long long bodies[3];     /* task solver: kernel bodies run as CPU, CUDA, OpenCL (this rank) */
    int nthreads;            /* fork-join: OpenMP threads per kernel (0: task solver) */
    unsigned reconnects;     /* times libnodus reconnected after a daemon restart (rank 0) */
} hpccg_result_t;

/* Options of one run (from the command line). */
typedef struct hpccg_opts {
    int nx, ny, nz;
    int max_iter;     /* 150, as the reference */
    double tolerance; /* 0, as the reference */
    int ntasks;       /* --tasks N: row blocks */
    int forkjoin;     /* --forkjoin: OpenMP loops in one parallel task */
    int standalone;   /* --standalone (with --forkjoin): a plain OpenMP process, no daemon */
    const char *impl; /* cpu, cuda, opencl, mixed */
    int cusparse;     /* --spmv cusparse */
    const char *yaml; /* YAML file (NULL: the reference's name) */
    int verify;       /* --verify: compare with the plain sequential CG */
} hpccg_opts_t;

/* Monotonic wall clock in seconds. */
double hpccg_now(void);

#ifdef __cplusplus
}
#endif

#endif
