/*
 * gpt2_test_ops.h: the checks shared by the device tests of the GPT-2 ops (test_gpt2_ocl.c,
 * test_gpt2_cuda.c): every op kind, on full and partial slices, run as a device task through a
 * nodus session and compared with gpt2_cpu_run on the same random inputs.
 */
#ifndef GPT2_TEST_OPS_H
#define GPT2_TEST_OPS_H

#include "gpt2_ops.h"

#include <nodus.h>

/* How one device implementation is reached. */
typedef struct {
    const char *name;                 /* for messages: "opencl", "cuda" */
    nodus_device_kind_t kind;         /* the task implementation kind to submit */
    void *(*alloc)(size_t bytes);     /* an arena the implementation can address; NULL on error */
    void (*release)(void *arena);     /* frees what alloc returned */
    void (*run)(const gpt2_op_t *op); /* the device body: enqueues the op */
} gpt2_test_backend_t;

/* Runs every case; prints one line per case and returns the number that failed (or -1 when the
 * test could not run at all). */
int gpt2_test_ops_all(nodus_t *n, const gpt2_test_backend_t *be);

/* Submits `op` as a device task of `be` that reads and writes [arena, arena+bytes) and waits for
 * it; 0 or a nodus error. */
int gpt2_test_ops_submit(nodus_t *n, const gpt2_test_backend_t *be, const gpt2_op_t *op,
                         void *arena, size_t bytes);

#endif
