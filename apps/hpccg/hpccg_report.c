/*
 * hpccg_report.c: the summary as the reference prints it. FLOPs are counted as the reference
 * does: per iteration 4*nrow for DDOT (two dot products), 6*nrow for WAXPBY (three updates) and
 * 2*27*nrow for SPARSEMV (27 entries per row assumed, boundary rows included). Numbers use the
 * reference's format (six significant digits); the nodus section repeats the residuals in full
 * precision for scripts.
 */
#include "hpccg_report.h"

#include <string.h>
#include <time.h>

void hpccg_report_yaml(FILE *out, const hpccg_opts_t *opts, const hpccg_problem_t *pb,
                       const hpccg_result_t *res, const char *mode, int ncores)
{
    double iters = res->niters, nrow = (double)pb->total_nrow, nnz = 27.0 * nrow;
    double f[HPCCG_T_COUNT] = {0};
    f[HPCCG_T_DDOT] = iters * 4 * nrow;
    f[HPCCG_T_WAXPBY] = iters * 6 * nrow;
    f[HPCCG_T_SPMV] = iters * 2 * nnz;
    f[HPCCG_T_TOTAL] = f[HPCCG_T_DDOT] + f[HPCCG_T_WAXPBY] + f[HPCCG_T_SPMV];
    static const char *names[] = {"Total   ", "DDOT    ", "WAXPBY  ", "SPARSEMV"};

    fprintf(out, "Mini-Application Name: hpccg\nMini-Application Version: 1.0\n");
    fprintf(out, "Parallelism: \n");
    if (pb->size > 1)
        fprintf(out, "  Number of MPI ranks: %d\n", pb->size);
    else
        fprintf(out, "  MPI not enabled: \n");
    if (res->nthreads > 0)
        fprintf(out, "  Number of OpenMP threads: %d\n", res->nthreads);
    else
        fprintf(out, "  OpenMP not enabled: \n");
    fprintf(out, "Dimensions: \n  nx: %d\n  ny: %d\n  nz: %d\n", pb->nx, pb->ny, pb->nz);
    fprintf(out, "Number of iterations: %d\nFinal residual: %g\n", res->niters, res->normr);
    fprintf(out, "#********** Performance Summary (times in sec) ***********: \n");
    fprintf(out, "Time Summary: \n");
    for (int i = 0; i < 4; i++)
        fprintf(out, "  %s: %g\n", names[i], res->t[i]);
    fprintf(out, "FLOPS Summary: \n");
    for (int i = 0; i < 4; i++)
        fprintf(out, "  %s: %g\n", names[i], f[i]);
    fprintf(out, "MFLOPS Summary: \n");
    for (int i = 0; i < 4; i++)
        fprintf(out, "  %s: %g\n", names[i], res->t[i] > 0 ? f[i] / res->t[i] / 1e6 : 0.0);
    fprintf(out, "nodus: \n");
    fprintf(out, "  Execution: %s\n", mode);
    fprintf(out, "  Implementation: %s\n", opts->impl);
    fprintf(out, "  SpMV: %s\n", opts->cusparse ? "cusparse" : "own");
    fprintf(out, "  Tasks: %d\n", opts->forkjoin ? 1 : opts->ntasks);
    fprintf(out, "  Daemon cores: %d\n", ncores);
    fprintf(out, "  Reconnects: %u\n", res->reconnects);
    fprintf(out, "  Halo exchange time: %g\n", res->t[HPCCG_T_HALO]);
    fprintf(out, "  Kernel bodies (rank 0): \n    cpu: %lld\n    cuda: %lld\n    opencl: %lld\n",
            res->bodies[0], res->bodies[1], res->bodies[2]);
    fprintf(out, "  Initial residual: %.17g\n", res->normr0);
    fprintf(out, "  Final residual: %.17g\n", res->normr);
}

int hpccg_report(const hpccg_opts_t *opts, const hpccg_problem_t *pb, const hpccg_result_t *res,
                 const char *mode, int ncores)
{
    hpccg_report_yaml(stdout, opts, pb, res, mode, ncores);
    fflush(stdout);
    char name[64];
    const char *path = opts->yaml;
    if (!path) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(name, sizeof name, "hpccg-1.0_%Y_%m_%d__%H_%M_%S.yaml", &tm);
        path = name;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    hpccg_report_yaml(f, opts, pb, res, mode, ncores);
    return fclose(f) == 0 ? 0 : -1;
}
