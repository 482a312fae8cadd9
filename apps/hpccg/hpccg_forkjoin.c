/*
 * hpccg_forkjoin.c: the fork-join CG. On nodus the whole solve is one task asking for all the
 * daemon's cores, or its share with several MPI ranks (so the daemon still allocates them); inside
 * it OpenMP runs each kernel as a parallel loop over rows with a static schedule (at most one
 * thread per granted core, fewer if OMP_NUM_THREADS says so), and a join after each. Stand-alone
 * (--standalone) the same loop runs in the main thread of a plain OpenMP process with no daemon:
 * OMP_NUM_THREADS threads, or one per CPU of the process's affinity mask. Kernel times are
 * measured around each kernel as the reference does.
 */
#include "hpccg_forkjoin.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "hpccg_comm.h"
#include "hpccg_kernels.h"
#include "hpccg_mem.h"

#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct forkjoin {
    const hpccg_problem_t *pb;
    const hpccg_opts_t *opts;
    hpccg_result_t *res;
    int rc;
} forkjoin_t;

static int nthreads; /* threads of every parallel loop, set before the solve */

static void spmv(const hpccg_problem_t *pb, const double *p_ext, double *y)
{
    long long chunks = nthreads, nn = (long long)pb->nrow;
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (long long c = 0; c < chunks; c++) {
        size_t lo = (size_t)(nn * c / chunks), hi = (size_t)(nn * (c + 1) / chunks);
        hpccg_kernel_spmv(pb, p_ext, y, lo, hi - lo);
    }
}

static void waxpby(size_t n, double a, const double *x, double b, const double *y, double *w)
{
    long long chunks = nthreads, nn = (long long)n;
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (long long c = 0; c < chunks; c++) {
        size_t lo = (size_t)(nn * c / chunks), hi = (size_t)(nn * (c + 1) / chunks);
        hpccg_kernel_waxpby(hi - lo, a, x + lo, b, y + lo, w + lo);
    }
}

static double dot(size_t n, const double *x, const double *y)
{
    double sum = 0.0;
    long long nn = (long long)n;
#pragma omp parallel for num_threads(nthreads) schedule(static) reduction(+ : sum)
    for (long long i = 0; i < nn; i++)
        sum += x[i] * y[i];
    return hpccg_comm_sum(sum);
}

#define TIMED(cls, stmt)                                                                           \
    do {                                                                                           \
        double t0_ = hpccg_now();                                                                  \
        stmt;                                                                                      \
        t[cls] += hpccg_now() - t0_;                                                               \
    } while (0)

/* The CG loop with `nthreads` threads per kernel; runs in a nodus task or in the main thread. */
static void forkjoin_run(forkjoin_t *fj)
{
    const hpccg_problem_t *pb = fj->pb;
    hpccg_result_t *res = fj->res;
    double *t = res->t;
    if (nthreads < 1) nthreads = 1;
    res->nthreads = nthreads;
    size_t nrow = pb->nrow;
    double *x = hpccg_mem_alloc(nrow * sizeof *x), *r = hpccg_mem_alloc(nrow * sizeof *r);
    double *p_ext = hpccg_mem_alloc(pb->ext * sizeof *p_ext);
    double *Ap = hpccg_mem_alloc(nrow * sizeof *Ap), *p = p_ext + (p_ext ? pb->plane : 0);
    if (!x || !r || !p_ext || !Ap) {
        fj->rc = -1;
        return;
    }
    int max_iter = fj->opts->max_iter;
    double tol = fj->opts->tolerance, t_begin = hpccg_now();
    TIMED(HPCCG_T_WAXPBY, waxpby(nrow, 1.0, x, 0.0, x, p));
    TIMED(HPCCG_T_HALO, hpccg_comm_halo(pb, p_ext));
    TIMED(HPCCG_T_SPMV, spmv(pb, p_ext, Ap));
    TIMED(HPCCG_T_WAXPBY, waxpby(nrow, 1.0, pb->b, -1.0, Ap, r));
    double rtrans = 0.0, normr;
    TIMED(HPCCG_T_DDOT, rtrans = dot(nrow, r, r));
    normr = sqrt(rtrans);
    res->normr0 = res->history[0] = normr;
    for (int k = 1; k < max_iter && normr > tol; k++) {
        if (k == 1) {
            TIMED(HPCCG_T_WAXPBY, waxpby(nrow, 1.0, r, 0.0, r, p));
        } else {
            double old = rtrans;
            TIMED(HPCCG_T_DDOT, rtrans = dot(nrow, r, r));
            double beta = rtrans / old;
            TIMED(HPCCG_T_WAXPBY, waxpby(nrow, 1.0, r, beta, p, p));
        }
        normr = sqrt(rtrans);
        res->history[k] = normr;
        TIMED(HPCCG_T_HALO, hpccg_comm_halo(pb, p_ext));
        TIMED(HPCCG_T_SPMV, spmv(pb, p_ext, Ap));
        double alpha = 0.0;
        TIMED(HPCCG_T_DDOT, alpha = dot(nrow, p, Ap));
        alpha = rtrans / alpha;
        TIMED(HPCCG_T_WAXPBY, waxpby(nrow, 1.0, x, alpha, p, x);
              waxpby(nrow, 1.0, r, -alpha, Ap, r));
        res->niters = k;
    }
    res->normr = normr;
    t[HPCCG_T_TOTAL] = hpccg_now() - t_begin;
    hpccg_mem_free(x), hpccg_mem_free(r), hpccg_mem_free(p_ext), hpccg_mem_free(Ap);
}

static void forkjoin_body(void *arg)
{
    nthreads = nodus_task_ncores();
#ifdef _OPENMP
    if (omp_get_max_threads() < nthreads) nthreads = omp_get_max_threads();
#endif
    forkjoin_run(arg);
}

int hpccg_forkjoin_solve(nodus_t *n, const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                         hpccg_result_t *res)
{
    res->max_iter = opts->max_iter;
    res->history = calloc((size_t)opts->max_iter + 2, sizeof(double));
    if (!res->history) return -1;
    forkjoin_t fj = {pb, opts, res, 0};
    nodus_task_attr_t *attr;
    int rc = nodus_task_attr_create(&attr);
    /* ranks on one node share its cores: each asks for its part, or a rank waiting in MPI for
     * another would hold the cores that one needs */
    int cores = nodus_num_cores(n) / (pb->size > 0 ? pb->size : 1);
    if (rc == 0) rc = nodus_task_attr_set_cores(attr, (unsigned)(cores > 0 ? cores : 1));
    if (rc == 0) rc = nodus_task_attr_set_label(attr, "hpccg.forkjoin");
    nodus_access_t acc = {res, sizeof *res, NODUS_OUT};
    if (rc == 0) rc = nodus_submit(n, forkjoin_body, &fj, &acc, 1, attr);
    if (rc == 0) rc = nodus_taskwait(n);
    nodus_task_attr_destroy(attr);
    if (rc < 0) fprintf(stderr, "hpccg: forkjoin: %s\n", nodus_strerror(rc));
    return rc < 0 ? rc : fj.rc;
}

int hpccg_forkjoin_threads(void)
{
#ifdef _OPENMP
    /* OMP_NUM_THREADS when set (one thread per CPU of the mask is libgomp's default, but not
     * every runtime's: count the mask ourselves) */
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && atoi(env) > 0) return omp_get_max_threads();
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) > 0)
        return CPU_COUNT(&mask);
    return omp_get_max_threads();
#else
    return 1; /* built without OpenMP: the loops run in the calling thread */
#endif
}

int hpccg_forkjoin_solve_standalone(const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                                    hpccg_result_t *res)
{
    res->max_iter = opts->max_iter;
    res->history = calloc((size_t)opts->max_iter + 2, sizeof(double));
    if (!res->history) return -1;
    forkjoin_t fj = {pb, opts, res, 0};
    nthreads = hpccg_forkjoin_threads();
    forkjoin_run(&fj);
    return fj.rc;
}
