/*
 * Shared parts of the it_opencl integration test client (it_opencl.c: kernels, task bodies and
 * the graph modes; it_opencl_aware.c: the task-awareness and PoCL-confinement evidence).
 */
#ifndef NODUS_IT_OPENCL_H
#define NODUS_IT_OPENCL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <nodus.h>
#include <nodus/opencl.h>

enum { OP_AFFINE, OP_SQUARE, OP_ADD, OP_SPIN };

/* One vector operation: out = op(in0[, in1]) elementwise over n elements (host arrays). */
typedef struct vec_task {
    int op;
    cl_uint *in0, *in1, *out; /* out may be in0 (INOUT) */
    size_t n;
    cl_uint a, b;         /* affine: x * a + b; spin: a iterations of an LCG */
    cl_uint *scalar_from; /* non-NULL: b is read from here when the body runs */
    int ran_kind;         /* nodus_device_kind_t the body saw */
} vec_task_t;

extern atomic_int itcl_errors;
extern cl_program itcl_program;
extern int itcl_device; /* the daemon index of the OpenCL device used */

/* Counts an error and prints the first ones. Any thread. */
void itcl_fail(const char *what, int code);
unsigned long long itcl_now_ns(void);
/* `iters` steps of the LCG the spin kernel runs. */
cl_uint itcl_lcg(cl_uint v, cl_uint iters);
/* A vector of n pseudo-random values (caller frees). */
cl_uint *itcl_vec(size_t n, unsigned seed);
/* Enqueues t's writes, kernel and read on q without waiting; *kernel_ev (if non-NULL) is the
 * kernel's event. */
cl_int itcl_enqueue(const vec_task_t *t, cl_command_queue q, cl_context ctx, cl_event *kernel_ev);
/* The OpenCL and CPU bodies of a vec_task_t. */
void itcl_body_opencl(void *p);
void itcl_body_cpu(void *p);
/* Submits t with its accesses; `cpu_too` adds the CPU body (a multi-version task). */
int itcl_submit(nodus_t *n, vec_task_t *t, nodus_task_attr_t *attr, bool cpu_too);
/* Opens the session, finds the OpenCL device, builds the kernels; 0, 1 or 77 (no device). */
int itcl_open(nodus_t **n, nodus_task_attr_t **ocl_attr);
/* Notes the threads that exist before nodus_open() (not PoCL's); call first in main. */
void itcl_remember_early_threads(void);
/* The "aware" mode (argv[0] is "aware"). */
int itcl_run_aware(nodus_t *n, nodus_task_attr_t *attr, int argc, char **argv);

#endif
