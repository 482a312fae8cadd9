/*
 * nodus-hpccg: the Mantevo HPCCG mini-app on nodus.
 *
 *   nodus-hpccg nx ny nz [--impl cpu|cuda|opencl|mixed] [--tasks N] [--forkjoin [--standalone]]
 *               [--spmv own|cusparse] [--max-iter N] [--yaml FILE] [--verify]
 *
 * nx ny nz are each rank's block, as in the reference (mpirun -np P solves nx*ny*(P*nz)).
 * Prints the reference's YAML summary on stdout and into the YAML file; the residual every few
 * iterations goes to stderr (the reference prints it before the summary). --verify also solves
 * the whole problem with a plain sequential CG (on rank 0) and compares residual histories.
 * --forkjoin --standalone is the monolithic baseline as a plain OpenMP process: it never opens a
 * nodus session (no daemon needed). Exits 77 when the implementation asked for has no device
 * here (the daemon owns none, or the build lacks it), 1 on errors, 2 on a bad command line, 3
 * when --verify finds a mismatch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nodus.h>

#include "hpccg.h"
#include "hpccg_comm.h"
#include "hpccg_forkjoin.h"
#include "hpccg_mem.h"
#include "hpccg_problem.h"
#include "hpccg_report.h"
#include "hpccg_tasks.h"
#include "hpccg_verify.h"
#ifdef NODUS_HPCCG_CUDA
#include "hpccg_cuda.h"
#endif

double hpccg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s nx ny nz [--impl cpu|cuda|opencl|mixed] [--tasks N]\n"
            "       [--forkjoin [--standalone]] [--spmv own|cusparse] [--max-iter N]\n"
            "       [--yaml FILE] [--verify] [--help]\n",
            prog);
}

/* Parses the command line into `o`: 0, 1 for --help, -1 on an error. */
static int parse(int argc, char **argv, hpccg_opts_t *o)
{
    *o = (hpccg_opts_t){.max_iter = 150, .tolerance = 0.0, .ntasks = 1, .impl = "cpu"};
    static const struct option opts[] = {
        {"impl", required_argument, 0, 'i'},     {"tasks", required_argument, 0, 't'},
        {"forkjoin", no_argument, 0, 'f'},       {"spmv", required_argument, 0, 's'},
        {"max-iter", required_argument, 0, 'm'}, {"yaml", required_argument, 0, 'y'},
        {"verify", no_argument, 0, 'v'},         {"standalone", no_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            o->impl = optarg;
            break;
        case 't':
            o->ntasks = atoi(optarg);
            break;
        case 'f':
            o->forkjoin = 1;
            break;
        case 's':
            if (strcmp(optarg, "own") && strcmp(optarg, "cusparse")) return -1;
            o->cusparse = !strcmp(optarg, "cusparse");
            break;
        case 'm':
            o->max_iter = atoi(optarg);
            break;
        case 'y':
            o->yaml = optarg;
            break;
        case 'v':
            o->verify = 1;
            break;
        case 'S':
            o->standalone = 1;
            break;
        case 'h':
            return 1;
        default:
            return -1;
        }
    }
    if (argc - optind != 3) return -1;
    o->nx = atoi(argv[optind]), o->ny = atoi(argv[optind + 1]), o->nz = atoi(argv[optind + 2]);
    if (o->nx <= 0 || o->ny <= 0 || o->nz <= 0 || o->ntasks < 1 || o->max_iter < 1) return -1;
    if (strcmp(o->impl, "cpu") && strcmp(o->impl, "cuda") && strcmp(o->impl, "opencl") &&
        strcmp(o->impl, "mixed"))
        return -1;
    if (o->forkjoin && strcmp(o->impl, "cpu")) {
        fprintf(stderr, "hpccg: --forkjoin runs the CPU kernels only\n");
        return -1;
    }
    if (o->standalone && !o->forkjoin) {
        fprintf(stderr, "hpccg: --standalone is a fork-join run (add --forkjoin)\n");
        return -1;
    }
    return 0;
}

/* The implementations the kernel tasks offer: the ones asked for that this build and the
 * daemon's devices support. 0: none (the caller skips). */
static unsigned choose_impls(nodus_t *n, const hpccg_opts_t *o)
{
    unsigned have = HPCCG_IMPL_CPU;
    for (int i = 0; i < nodus_num_devices(n); i++) {
        nodus_device_kind_t kind;
        char name[128];
        if (nodus_device_info(n, i, &kind, name, sizeof name) < 0) continue;
#ifdef NODUS_HPCCG_OPENCL
        if (kind == NODUS_DEV_OPENCL) have |= HPCCG_IMPL_OPENCL;
#endif
#ifdef NODUS_HPCCG_CUDA
        if (kind == NODUS_DEV_CUDA && hpccg_cuda_usable()) have |= HPCCG_IMPL_CUDA;
#endif
    }
    if (!strcmp(o->impl, "cpu")) return HPCCG_IMPL_CPU;
    if (!strcmp(o->impl, "cuda")) return have & HPCCG_IMPL_CUDA;
    if (!strcmp(o->impl, "opencl")) return have & HPCCG_IMPL_OPENCL;
    return have; /* mixed: whatever is here; the daemon picks per task */
}

static void print_progress(const hpccg_result_t *res, int rank)
{
    if (rank != 0) return;
    int freq = res->max_iter / 10;
    freq = freq > 50 ? 50 : (freq < 1 ? 1 : freq);
    fprintf(stderr, "Initial Residual = %g\n", res->normr0);
    for (int k = 1; k <= res->niters; k++)
        if (k % freq == 0 || k + 1 == res->max_iter)
            fprintf(stderr, "Iteration = %d   Residual = %g\n", k, res->history[k]);
}

int main(int argc, char **argv)
{
    int rank = 0, size = 1;
    if (hpccg_comm_init(&argc, &argv, &rank, &size) < 0) return 1;
    hpccg_opts_t opts;
    int prc = parse(argc, argv, &opts);
    if (prc != 0) {
        if (rank == 0) usage(prc > 0 ? stdout : stderr, argv[0]);
        hpccg_comm_finalize();
        return prc > 0 ? 0 : 2;
    }
    nodus_t *n = NULL; /* stays NULL in a stand-alone run */
    int rc = 0;
    unsigned impls = HPCCG_IMPL_CPU;
    if (!opts.standalone) {
        rc = nodus_open(&n, "hpccg", NULL); /* every rank: its own session, the node's daemon */
        if (rc < 0) {
            fprintf(stderr, "hpccg: nodus_open: %s\n", nodus_strerror(rc));
            hpccg_comm_finalize();
            return 1;
        }
        impls = choose_impls(n, &opts);
    }
    /* every rank must agree to run, or the collectives would hang */
    if (hpccg_comm_max(impls ? 0.0 : 1.0) > 0) {
        if (rank == 0)
            printf("hpccg: no %s implementation usable here (build or daemon devices): "
                   "skipped\n",
                   opts.impl);
        if (n) nodus_close(n);
        hpccg_comm_finalize();
        return 77;
    }
    hpccg_mem_use_managed((impls & HPCCG_IMPL_CUDA) != 0);
    hpccg_problem_t pb;
    hpccg_result_t res = {0};
    int status = 0;
    if (hpccg_problem_create(&pb, opts.nx, opts.ny, opts.nz, rank, size, hpccg_mem_alloc) < 0) {
        fprintf(stderr, "hpccg: cannot build the %dx%dx%d problem\n", opts.nx, opts.ny, opts.nz);
        status = 1;
    } else {
        if (opts.standalone)
            rc = hpccg_forkjoin_solve_standalone(&pb, &opts, &res);
        else if (opts.forkjoin)
            rc = hpccg_forkjoin_solve(n, &pb, &opts, &res);
        else
            rc = hpccg_tasks_solve(n, &pb, &opts, impls, &res);
        if (rc < 0) status = 1;
    }
    if (n) res.reconnects = nodus_reconnect_count(n);
    if (hpccg_comm_max(status) > 0) status = 1;
    if (status == 0) {
        for (int c = 0; c < HPCCG_T_COUNT; c++) /* the slowest rank's times */
            res.t[c] = hpccg_comm_max(res.t[c]);
        if (rank == 0) {
            print_progress(&res, rank);
            const char *mode = opts.standalone ? "forkjoin-standalone"
                               : opts.forkjoin ? "forkjoin"
                                               : "tasks";
            if (hpccg_report(&opts, &pb, &res, mode, n ? nodus_num_cores(n) : 0) < 0) status = 1;
            if (opts.verify &&
                hpccg_verify(opts.nx, opts.ny, opts.nz * size, &res, opts.tolerance, 1e-6) < 0)
                status = 3;
        }
    }
    int crc = n ? nodus_close(n) : 0;
    if (crc < 0 && status == 0) {
        fprintf(stderr, "hpccg: nodus_close: %s\n", nodus_strerror(crc));
        status = 1;
    }
    hpccg_problem_destroy(&pb, hpccg_mem_free);
    free(res.history);
    hpccg_comm_finalize();
    return status;
}
