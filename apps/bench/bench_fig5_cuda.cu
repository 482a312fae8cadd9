// The CUDA device task of nodus-bench-fig5: a kernel that spins on the GPU's global timer for
// the requested time, then writes y = x + 1; copies in and out on the task's stream.
#include <cuda_runtime.h>
#include <stdio.h>

#include <nodus/cuda.h>

#include "bench_fig5.h"

static unsigned long long spin_ns;

__global__ static void spin_kernel(const uint32_t *x, uint32_t *y, unsigned long long ns)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    while (t - t0 < ns);
    int i = threadIdx.x;
    if (i < FIG5_ELEMS) y[i] = x[i] + 1;
}

static uint32_t cuda_expect(uint32_t x)
{
    return x + 1;
}

// --timeline: when the device work of G0 completed (a host function on the stream, after it)
static void CUDART_CB copied_back(void *p)
{
    ((fig5_iter_t *)p)->device_done = fig5_now_ns();
}

static void cuda_body(void *p)
{
    fig5_iter_t *it = (fig5_iter_t *)p;
    uint64_t t0 = fig5_now_ns();
    cudaStream_t s = nodus_cuda_stream();
    // stream-ordered allocation: nothing here waits for the device
    uint32_t *dx = NULL, *dy = NULL;
    cudaError_t e = cudaMallocAsync((void **)&dx, sizeof it->x, s);
    if (e == cudaSuccess) e = cudaMallocAsync((void **)&dy, sizeof it->y, s);
    if (e == cudaSuccess) e = cudaMemcpyAsync(dx, it->x, sizeof it->x, cudaMemcpyHostToDevice, s);
    if (e == cudaSuccess) {
        spin_kernel<<<1, FIG5_ELEMS, 0, s>>>(dx, dy, spin_ns);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpyAsync(it->y, dy, sizeof it->y, cudaMemcpyDeviceToHost, s);
    if (dx) cudaFreeAsync(dx, s);
    if (dy) cudaFreeAsync(dy, s);
    if (e == cudaSuccess) e = cudaLaunchHostFunc(s, copied_back, it);
    if (e == cudaSuccess && fig5_blocking) e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) fprintf(stderr, "bench-fig5: CUDA: %s\n", cudaGetErrorString(e));
    fig5_account_device_body(it, t0);
}

static int cuda_setup(nodus_t *n, int device, double dev_ms)
{
    int ordinal = nodus_cuda_device_of(n, device);
    if (ordinal < 0 || cudaSetDevice(ordinal) != cudaSuccess) {
        fprintf(stderr, "bench-fig5: CUDA device: %s\n", nodus_strerror(ordinal));
        return -1;
    }
    spin_ns = (unsigned long long)(dev_ms * 1e6);
    return 0;
}

// pageable memory would make the device-to-host copy synchronous: the body would wait
static void *pinned;

static int cuda_pin(void *mem, size_t bytes)
{
    if (cudaHostRegister(mem, bytes, cudaHostRegisterDefault) != cudaSuccess) return -1;
    pinned = mem;
    return 0;
}

static void cuda_teardown(void)
{
    if (pinned) cudaHostUnregister(pinned);
}

extern "C" const fig5_backend_t fig5_cuda_backend = {
    "cuda", NODUS_DEV_CUDA, cuda_setup, cuda_body, cuda_pin, cuda_expect, cuda_teardown};
