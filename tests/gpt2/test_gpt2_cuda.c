/*
 * test_gpt2_cuda: the CUDA GPT-2 ops (gpt2_cuda.cu) as CUDA tasks of a real nodus session,
 * compared with the CPU reference (gpt2_test_ops.c has the cases and tolerances). Run by
 * test_gpt2_devices.sh against a private nodusd.
 *
 *   test_gpt2_cuda            every op kind, full and partial slices
 *   test_gpt2_cuda --probe    exit 0 if this machine has a CUDA device, 77 if not
 *
 * Exits 77 without a GPU (no CUDA device, or the daemon owns none), 1 on any wrong result.
 */
#include "gpt2_test_ops.h"

#include <cuda_runtime_api.h>

#include <stdio.h>
#include <string.h>

static const gpt2_test_backend_t test_gpt2_cuda_backend = {
    .name = "cuda",
    .kind = NODUS_DEV_CUDA,
    .alloc = gpt2_cuda_alloc, /* managed memory: the host fills it, kernels use it as is */
    .release = gpt2_cuda_free,
    .run = gpt2_cuda_run,
};

int main(int argc, char **argv)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("test_gpt2_cuda: no CUDA device on this machine: skipped\n");
        return 77;
    }
    if (argc > 1 && !strcmp(argv[1], "--probe")) return 0; /* a GPU is present */
    nodus_t *n;
    int rc = nodus_open(&n, "test_gpt2_cuda", NULL);
    if (rc < 0) {
        fprintf(stderr, "test_gpt2_cuda: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    gpt2_cpu_init();
    if (gpt2_cuda_init(n) != 0) {
        printf("test_gpt2_cuda: the daemon owns no usable CUDA device: skipped\n");
        nodus_close(n);
        return 77;
    }
    int failed = gpt2_test_ops_all(n, &test_gpt2_cuda_backend);
    rc = nodus_close(n);
    gpt2_cuda_fini();
    if (rc != 0) fprintf(stderr, "test_gpt2_cuda: session error: %s\n", nodus_strerror(rc));
    if (failed != 0 || rc != 0) {
        fprintf(stderr, "test_gpt2_cuda: %d case(s) failed\n", failed);
        return 1;
    }
    printf("test_gpt2_cuda: OK\n");
    return 0;
}
