/*
 * nodus-bench-fig5: the experiment of the source paper's Figure 5 (CPU tasks interleaved with
 * device tasks; task-aware completion vs blocking synchronisation inside the task). Shared by
 * the driver (bench_fig5.c, with the OpenCL device task) and the CUDA device task
 * (bench_fig5_cuda.cu, built when CMake finds CUDA).
 */
#ifndef NODUS_BENCH_FIG5_H
#define NODUS_BENCH_FIG5_H

#include <stddef.h>
#include <stdint.h>

#include <nodus.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FIG5_ELEMS 256 /* elements of x[i] and y[i] */

/* Where and when one task body ran (for --timeline). */
typedef struct fig5_span {
    int core;
    uint64_t start, end;
} fig5_span_t;

enum { FIG5_C1, FIG5_G0, FIG5_C2, FIG5_C3 };

/* One iteration's data: C1 writes x, G0 reads x and writes y, C2 reads x, C3 reads y. */
typedef struct fig5_iter {
    uint32_t x[FIG5_ELEMS];
    uint32_t y[FIG5_ELEMS];
    int ok;               /* C3: y is what G0 should have computed from x */
    fig5_span_t span[4];  /* by FIG5_C1.. */
    uint64_t device_done; /* G0's device work completed (a callback of the backend's), or 0 */
} fig5_iter_t;

/* A device task implementation (OpenCL or CUDA). */
typedef struct fig5_backend {
    const char *name;
    nodus_device_kind_t kind;
    /* Prepares for kernels of about `dev_ms` on daemon device `device`; 0, or < 0 with a message
     * printed. */
    int (*setup)(nodus_t *n, int device, double dev_ms);
    /* G0's body: enqueue the copy in, the kernel and the copy out for the fig5_iter_t `arg`, and
     * return (task-aware), or wait for them first when fig5_blocking is set. */
    nodus_task_fn body;
    /* Makes the iteration array usable for asynchronous copies (CUDA: pins it); may be NULL. */
    int (*pin)(void *mem, size_t bytes);
    /* What G0 computes from one element of x. */
    uint32_t (*expect)(uint32_t x);
    void (*teardown)(void);
} fig5_backend_t;

/* Set by the driver: G0 bodies synchronise (clFinish / cudaStreamSynchronize) before returning. */
extern int fig5_blocking;
/* Set by a backend's setup: one kernel's time measured alone (0: not measured). */
extern double fig5_kernel_ms;

/* Records G0's body span and adds its time (its core was occupied that long). G0 bodies. */
void fig5_account_device_body(fig5_iter_t *it, uint64_t start);
uint64_t fig5_now_ns(void);

#ifdef NODUS_BENCH_CUDA
/* The CUDA backend (bench_fig5_cuda.cu). */
extern const fig5_backend_t fig5_cuda_backend;
#endif

#ifdef __cplusplus
}
#endif

#endif
