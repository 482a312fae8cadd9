/*
 * test_gpt2_ocl: the OpenCL GPT-2 ops (gpt2_ocl.c) as OpenCL tasks of a real nodus session,
 * compared with the CPU reference (gpt2_test_ops.c has the cases and tolerances). Run by
 * test_gpt2_devices.sh against a private nodusd.
 *
 *   test_gpt2_ocl                       every op kind, full and partial slices, twice: with the
 *                                       GEMM picked for the device, then the tiled one forced
 *   test_gpt2_ocl --probe               exit 0 (OpenCL devices are the daemon's to find)
 *   test_gpt2_ocl --bench M N K [REPS]  the three matmul ops (M rows, N output channels, K
 *                                       input channels) as OpenCL tasks and on the CPU
 *                                       (gpt2_cpu_run): GFLOP/s of each
 *
 * Exits 77 when the daemon owns no usable OpenCL device, 1 on any wrong result.
 */
#include "gpt2_test_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* gpt2_ocl.c addresses only registered arenas: each pass registers its one arena. */
static void *test_gpt2_ocl_arena;

static void *test_gpt2_ocl_alloc(size_t bytes)
{
    bytes = (bytes + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(4096, bytes);
    if (!p) return NULL;
    memset(p, 0, bytes);
    if (gpt2_ocl_register(p, bytes) != 0) {
        free(p);
        return NULL;
    }
    test_gpt2_ocl_arena = p;
    return p;
}

/* The buffer of a registered arena lives until gpt2_ocl_fini: main frees the memory after it. */
static void test_gpt2_ocl_release(void *arena) {}

static const gpt2_test_backend_t test_gpt2_ocl_backend = {
    .name = "opencl",
    .kind = NODUS_DEV_OPENCL,
    .alloc = test_gpt2_ocl_alloc,
    .release = test_gpt2_ocl_release,
    .run = gpt2_ocl_run,
};

static const gpt2_test_backend_t test_gpt2_ocl_tiled_backend = {
    .name = "opencl (tiled gemm)",
    .kind = NODUS_DEV_OPENCL,
    .alloc = test_gpt2_ocl_alloc,
    .release = test_gpt2_ocl_release,
    .run = gpt2_ocl_run,
};

static double test_gpt2_ocl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Times REPS tasks of each matmul op (after one warm-up that compiles the kernels) and as many
 * gpt2_cpu_run calls, for rows M, output channels N, input channels K. */
static int test_gpt2_ocl_bench(nodus_t *n, int M, int N, int K, int reps)
{
    /* out/dout [M,N], inp/dinp [M,K], weight/dweight [N,K], bias/dbias [N] */
    size_t floats = 2 * ((size_t)M * N + (size_t)M * K + (size_t)N * K + (size_t)N);
    float *a = test_gpt2_ocl_alloc(floats * sizeof(float));
    if (!a) return 1;
    for (size_t i = 0; i < floats; i++)
        a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    float *out = a, *inp = out + (size_t)M * N, *w = inp + (size_t)M * K, *bias = w + (size_t)N * K;
    float *dout = bias + N, *dinp = dout + (size_t)M * N, *dw = dinp + (size_t)M * K;
    float *dbias = dw + (size_t)N * K;
    gpt2_op_t ops[3];
    for (int k = 0; k < 3; k++)
        ops[k] =
            (gpt2_op_t){.B = 1, .T = M, .C = K, .OC = N, .bt0 = 0, .bt1 = M, .oc0 = 0, .oc1 = N};
    ops[0].kind = GPT2_OP_MATMUL_FWD;
    ops[0].u.matmul_fwd.out = out;
    ops[0].u.matmul_fwd.inp = inp;
    ops[0].u.matmul_fwd.weight = w;
    ops[0].u.matmul_fwd.bias = bias;
    ops[1].kind = GPT2_OP_MATMUL_BWD_INP;
    ops[1].u.matmul_bwd_inp.dinp = dinp;
    ops[1].u.matmul_bwd_inp.dout = dout;
    ops[1].u.matmul_bwd_inp.weight = w;
    ops[2].kind = GPT2_OP_MATMUL_BWD_WEIGHT;
    ops[2].u.matmul_bwd_weight.dweight = dw;
    ops[2].u.matmul_bwd_weight.dbias = dbias;
    ops[2].u.matmul_bwd_weight.dout = dout;
    ops[2].u.matmul_bwd_weight.inp = inp;
    static const char *names[3] = {"matmul_fwd", "matmul_bwd_inp", "matmul_bwd_weight"};
    size_t bytes = floats * sizeof(float);
    double flop = 2.0 * M * N * K;
    for (int k = 0; k < 3; k++) {
        if (gpt2_test_ops_submit(n, &test_gpt2_ocl_backend, &ops[k], a, bytes) != 0) return 1;
        double t0 = test_gpt2_ocl_now();
        for (int r = 0; r < reps; r++)
            if (gpt2_test_ops_submit(n, &test_gpt2_ocl_backend, &ops[k], a, bytes) != 0) return 1;
        double t_ocl = (test_gpt2_ocl_now() - t0) / reps;
        t0 = test_gpt2_ocl_now();
        for (int r = 0; r < reps; r++)
            gpt2_cpu_run(&ops[k]);
        double t_cpu = (test_gpt2_ocl_now() - t0) / reps;
        printf("%-17s M=%d N=%d K=%d: OpenCL task %8.2f ms (%6.2f GFLOP/s), gpt2_cpu_run %8.2f "
               "ms (%6.2f GFLOP/s)\n",
               names[k], M, N, K, 1e3 * t_ocl, flop / t_ocl * 1e-9, 1e3 * t_cpu,
               flop / t_cpu * 1e-9);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--probe")) return 0; /* the daemon finds the devices */
    nodus_t *n;
    int rc = nodus_open(&n, "test_gpt2_ocl", NULL);
    if (rc < 0) {
        fprintf(stderr, "test_gpt2_ocl: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    gpt2_cpu_init();
    int failed = 0;
    bool bench = argc >= 5 && !strcmp(argv[1], "--bench");
    /* pass 0: the GEMM gpt2_ocl picks for the device (the vector kernels on PoCL); pass 1: the
     * tiled GEMM that GPUs get, forced, so that it is checked here too */
    for (int pass = 0; pass < (bench ? 1 : 2) && failed == 0; pass++) {
        if (pass == 1) setenv("GPT2_OCL_GEMM", "tiled", 1);
        if (gpt2_ocl_init(n) != 0) {
            printf("test_gpt2_ocl: no usable OpenCL device: skipped\n");
            nodus_close(n);
            return 77;
        }
        if (bench)
            failed = test_gpt2_ocl_bench(n, atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
                                         argc > 5 ? atoi(argv[5]) : 5);
        else
            failed = gpt2_test_ops_all(n, pass == 0 ? &test_gpt2_ocl_backend
                                                    : &test_gpt2_ocl_tiled_backend);
        gpt2_ocl_fini();
        free(test_gpt2_ocl_arena);
        test_gpt2_ocl_arena = NULL;
    }
    rc = nodus_close(n);
    if (rc != 0) fprintf(stderr, "test_gpt2_ocl: session error: %s\n", nodus_strerror(rc));
    if (failed != 0 || rc != 0) {
        fprintf(stderr, "test_gpt2_ocl: %d case(s) failed\n", failed);
        return 1;
    }
    printf("test_gpt2_ocl: OK\n");
    return 0;
}
